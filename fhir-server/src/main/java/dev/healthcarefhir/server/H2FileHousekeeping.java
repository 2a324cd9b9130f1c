package dev.healthcarefhir.server;

import java.sql.Connection;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the H2 file database (FHIR_DB=disk) from growing without bound.
 *
 * <p>WRITE_DELAY=0, which makes each commit reach the file before it returns, also leaves H2
 * without its background writer: the thread that rewrites the live pages of sparsely used chunks
 * so that their space is reused. Without it every commit's chunk stays, held by a few live
 * pages, and the file grows with every write (16 GB for 320,000 patients, most of it dead).
 * This does the rewriting on a timer, through MVStore.compact: the public entry to the chunk
 * rewriting that background writer does, built to run beside commits. A rewritten page is
 * durable at the next commit, and a chunk it leaves is reused only after H2's retention time,
 * so a killed server loses nothing.
 */
final class H2FileHousekeeping implements AutoCloseable {

	private static final Logger ourLog = LoggerFactory.getLogger(H2FileHousekeeping.class);

	/** Below this share of live data in the file's chunks, sparse chunks are rewritten. */
	static final int TARGET_FILL_PERCENT = 60;

	/** Live bytes rewritten per round at most: keeps a round short beside the server's own writes. */
	static final int WRITE_LIMIT_BYTES = 4 * 1024 * 1024;

	static final long PERIOD_MS = 1000;

	private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
		Thread thread = new Thread(runnable, "h2-file-housekeeping");
		thread.setDaemon(true);
		return thread;
	});

	private final MVStore store;

	private H2FileHousekeeping(MVStore store) {
		this.store = store;
	}

	/** Starts housekeeping of the H2 file database behind `dataSource`. */
	static H2FileHousekeeping start(DataSource dataSource) {
		MVStore store;
		try (Connection connection = dataSource.getConnection()) {
			SessionLocal session = (SessionLocal) connection.unwrap(JdbcConnection.class).getSession();
			store = session.getDatabase().getStore().getMvStore();
		} catch (Exception e) {
			throw new IllegalStateException("cannot reach the H2 store to keep its file compact", e);
		}
		H2FileHousekeeping housekeeping = new H2FileHousekeeping(store);
		housekeeping.timer.scheduleWithFixedDelay(housekeeping::round, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
		ourLog.info(
				"H2 file housekeeping: sparse chunks rewritten below {}% live, up to {} MB a round, every {} ms",
				TARGET_FILL_PERCENT,
				WRITE_LIMIT_BYTES / (1024 * 1024),
				PERIOD_MS);
		return housekeeping;
	}

	private void round() {
		if (store.isClosed()) return;
		try {
			store.compact(TARGET_FILL_PERCENT, WRITE_LIMIT_BYTES);
		} catch (RuntimeException e) {
			// a store closing under us (shutdown) or a round that failed: the next round tries again
			if (!store.isClosed()) ourLog.warn("H2 file housekeeping round failed: {}", e.toString());
		}
	}

	@Override
	public void close() {
		timer.shutdownNow();
		try {
			timer.awaitTermination(10, TimeUnit.SECONDS);
		} catch (InterruptedException e) {
			Thread.currentThread().interrupt();
		}
	}
}
