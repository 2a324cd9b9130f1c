package dev.healthcarefhir.server;

import java.io.IOException;
import java.io.InputStream;

import org.springframework.boot.Banner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.context.PropertyPlaceholderAutoConfiguration;
import org.springframework.boot.autoconfigure.web.embedded.EmbeddedWebServerFactoryCustomizerAutoConfiguration;
import org.springframework.boot.autoconfigure.web.servlet.ServletWebServerFactoryAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/**
 * Minimal local HAPI FHIR R4 JPA server (H2 or PostgreSQL) for healthcare-fhir development and tests.
 *
 * <p>No Spring Boot auto-configuration scan: only the embedded web server is auto-configured,
 * everything else is wired explicitly in {@link FhirServerConfig} to keep start-up short.
 *
 * <p>Environment: FHIR_PORT (8080), FHIR_HOST (127.0.0.1), FHIR_DB (memory|disk|postgres, with
 * FHIR_DB_URL, FHIR_DB_USER, FHIR_DB_PASSWORD), FHIR_PROFILE (tuned|stock),
 * FHIR_DATA_DIR (./data/fhir), FHIR_EXIT_ON_STDIN_EOF (1 = exit when stdin closes, i.e. when the
 * launching process dies).
 */
@Configuration(proxyBeanMethods = false)
@Import({
	PropertyPlaceholderAutoConfiguration.class,
	ServletWebServerFactoryAutoConfiguration.class,
	// applies server.tomcat.* (relaxed query chars for FHIR's unescaped '|')
	EmbeddedWebServerFactoryCustomizerAutoConfiguration.class,
	FhirServerConfig.class
})
public class FhirServerApplication {

	public static void main(String[] args) {
		SpringApplication app = new SpringApplication(FhirServerApplication.class);
		app.setBannerMode(Banner.Mode.OFF);
		app.run(args);
		if ("1".equals(System.getenv("FHIR_EXIT_ON_STDIN_EOF"))) {
			exitWhenStdinCloses();
		}
	}

	/** The launcher keeps our stdin open; EOF means the parent process is gone, so shut down. */
	private static void exitWhenStdinCloses() {
		Thread watcher = new Thread(
				() -> {
					try (InputStream in = System.in) {
						byte[] buf = new byte[256];
						while (in.read(buf) != -1) {
							// ignore input
						}
					} catch (IOException e) {
						// treat like EOF
					}
					System.exit(0);
				},
				"parent-watch");
		watcher.setDaemon(true);
		watcher.start();
	}
}
