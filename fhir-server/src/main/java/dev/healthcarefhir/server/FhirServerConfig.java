package dev.healthcarefhir.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;

import javax.sql.DataSource;

import org.apache.commons.dbcp2.BasicDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.binstore.DatabaseBinaryContentStorageSvcImpl;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirPostgresDialect;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.narrative2.NullNarrativeGenerator;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.IncomingRequestAddressStrategy;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import jakarta.persistence.EntityManagerFactory;

/** Our own minimal wiring of HAPI FHIR's JPA server (R4) on H2 or PostgreSQL. */
@Configuration
@Import({
	JpaR4Config.class,
	HapiJpaConfig.class,
	ThreadPoolFactoryConfig.class,
	JpaBatch2Config.class,
	Batch2JobsConfig.class,
	// in-memory message channels used by Batch2 (not subscriptions)
	SubscriptionChannelConfig.class
})
public class FhirServerConfig {

	private static final Logger ourLog = LoggerFactory.getLogger(FhirServerConfig.class);

	/**
	 * FHIR_PROFILE=tuned (default): what healthcare-fhir's tests were first written against;
	 * FHIR_PROFILE=stock: HAPI's own defaults, as on a server the user does not control.
	 */
	@Bean
	public JpaStorageSettings storageSettings() {
		JpaStorageSettings s = new JpaStorageSettings();
		String profile = profile();
		switch (profile) {
			case "tuned" -> {
				// a search right after a write must see it: never reuse cached search results
				s.setReuseCachedSearchResultsForMillis(null);
				s.setAllowContainsSearches(true);
				s.setAllowMultipleDelete(true);
				s.setExpungeEnabled(true);
			}
			case "stock" -> {
				// HAPI's defaults as they are: :contains off, search results reused for 60 s,
				// no multiple delete, no $expunge
			}
			default -> throw new IllegalStateException("unreachable: profile() checked " + profile);
		}
		ourLog.info(
				"Profile {}: :contains {}, search result reuse {} ms, _count up to {}, unique combo indexes {} (checked before save {})",
				profile,
				s.isAllowContainsSearches() ? "on" : "off",
				s.getReuseCachedSearchResultsForMillis(),
				maximumPageSize(),
				s.isUniqueIndexesEnabled() ? "on" : "off",
				s.isUniqueIndexesCheckedBeforeSave());
		// both profiles: nothing in the background that the server does not need
		s.setEnableTaskPreExpandValueSets(false);
		s.setEnableTaskBulkImportJobExecution(false);
		s.setEnableTaskBulkExportJobExecution(false);
		s.setAdvancedHSearchIndexing(false);
		s.setHibernateSearchIndexSearchParams(false);
		s.setLastNEnabled(false);
		return s;
	}

	/** FHIR_PROFILE: tuned (the default) or stock. */
	static String profile() {
		String profile = env("FHIR_PROFILE", "tuned").toLowerCase(java.util.Locale.ROOT);
		if (!profile.equals("tuned") && !profile.equals("stock")) {
			throw new IllegalStateException("FHIR_PROFILE must be tuned or stock, not " + profile);
		}
		return profile;
	}

	/**
	 * The largest _count a search may ask for. stock: 200, the HAPI JPA starter's default (what real
	 * servers have), so the test runs on it cover a cap equal to our keyset page size; tuned: room
	 * past that page size, so they also cover keyset pages that ask for the page size plus the
	 * records they read again (docs/streaming.md).
	 */
	static int maximumPageSize() {
		return profile().equals("tuned") ? 1000 : 200;
	}

	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings();
	}

	@Bean
	public SubscriptionSettings subscriptionSettings() {
		return new SubscriptionSettings();
	}

	/** FHIR_DB: memory (H2 in memory), disk (H2 file under FHIR_DATA_DIR, the default) or postgres. */
	static String databaseMode() {
		String mode = env("FHIR_DB", "disk").toLowerCase(java.util.Locale.ROOT);
		if (!mode.equals("memory") && !mode.equals("disk") && !mode.equals("postgres")) {
			throw new IllegalStateException("FHIR_DB must be memory, disk or postgres, not " + mode);
		}
		return mode;
	}

	@Bean(destroyMethod = "close")
	public BasicDataSource dataSource() {
		BasicDataSource ds = new BasicDataSource();
		switch (databaseMode()) {
			case "memory" -> {
				ds.setDriverClassName("org.h2.Driver");
				ds.setUrl("jdbc:h2:mem:fhir;DB_CLOSE_DELAY=-1");
				ds.setUsername("sa");
				ds.setPassword("");
				ourLog.info("Storage: in-memory H2");
			}
			case "disk" -> {
				Path dir = Paths.get(env("FHIR_DATA_DIR", "./data/fhir")).toAbsolutePath().normalize();
				try {
					Files.createDirectories(dir);
				} catch (Exception e) {
					throw new IllegalStateException("cannot create FHIR_DATA_DIR " + dir, e);
				}
				ds.setDriverClassName("org.h2.Driver");
				// WRITE_DELAY=0: H2 writes each commit to its file before the commit returns (its default
				// of 500 ms acknowledged writes that a killed process then lost). The write reaches the
				// OS, which keeps it through a crash of the server process; only an OS crash or power
				// loss can still lose it (H2 does not fsync each commit).
				// DB_CLOSE_ON_EXIT=FALSE: Spring closes the pool (and so the database) on shutdown.
				ds.setUrl("jdbc:h2:file:" + dir.resolve("fhir-r4") + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE");
				ds.setUsername("sa");
				ds.setPassword("");
				ourLog.info("Storage: H2 file database in {}", dir);
			}
			default -> {
				String url = env("FHIR_DB_URL", "");
				if (!url.startsWith("jdbc:postgresql:")) {
					throw new IllegalStateException(
							"FHIR_DB=postgres needs FHIR_DB_URL=jdbc:postgresql://host:port/database, not '" + url + "'");
				}
				ds.setDriverClassName("org.postgresql.Driver");
				ds.setUrl(url);
				ds.setUsername(env("FHIR_DB_USER", "fhir"));
				ds.setPassword(env("FHIR_DB_PASSWORD", ""));
				ourLog.info("Storage: PostgreSQL at {}", url);
			}
		}
		ds.setMaxTotal(20);
		return ds;
	}

	/** FHIR_DB=disk: rewrites sparse chunks of the H2 file, which WRITE_DELAY=0 leaves to grow (H2FileHousekeeping). */
	@Bean(destroyMethod = "close")
	public AutoCloseable h2FileHousekeeping(DataSource dataSource) {
		return databaseMode().equals("disk") ? H2FileHousekeeping.start(dataSource) : () -> {};
	}

	@Primary
	@Bean
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			ConfigurableListableBeanFactory beanFactory,
			FhirContext fhirContext,
			JpaStorageSettings storageSettings,
			DataSource dataSource) {
		LocalContainerEntityManagerFactoryBean emf =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		Map<String, Object> props = new HashMap<>();
		props.put(
				"hibernate.dialect",
				databaseMode().equals("postgres")
						? HapiFhirPostgresDialect.class.getName()
						: HapiFhirH2Dialect.class.getName());
		props.put("hibernate.hbm2ddl.auto", "update");
		props.put("hibernate.format_sql", "false");
		props.put("hibernate.show_sql", "false");
		props.put("hibernate.jdbc.batch_size", "20");
		props.put("hibernate.cache.use_query_cache", "false");
		props.put("hibernate.cache.use_second_level_cache", "false");
		props.put("hibernate.cache.use_structured_entries", "false");
		props.put("hibernate.cache.use_minimal_puts", "false");
		props.put("hibernate.archive.scanner", "org.hibernate.boot.archive.scan.internal.DisabledScanner");
		// no Hibernate Search / Lucene
		props.put("hibernate.search.enabled", "false");
		emf.setPersistenceUnitName("HAPI_PU");
		emf.setJpaPropertyMap(props);
		emf.setDataSource(dataSource);
		return emf;
	}

	@Primary
	@Bean
	public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
		return new JpaTransactionManager(entityManagerFactory);
	}

	@Bean
	public DatabaseBinaryContentStorageSvcImpl databaseBinaryStorageSvc() {
		return new DatabaseBinaryContentStorageSvcImpl();
	}

	@Bean
	public RestfulServer restfulServer(
			IFhirSystemDao<?, ?> systemDao,
			ResourceProviderFactory resourceProviderFactory,
			IJpaSystemProvider systemProvider,
			JpaStorageSettings storageSettings,
			ISearchParamRegistry searchParamRegistry,
			IValidationSupport validationSupport,
			DatabaseBackedPagingProvider pagingProvider) {
		FhirContext ctx = systemDao.getContext();
		ctx.setNarrativeGenerator(new NullNarrativeGenerator());
		RestfulServer server = new RestfulServer(ctx);
		server.registerProviders(resourceProviderFactory.createProviders());
		server.registerProvider(systemProvider);
		JpaCapabilityStatementProvider capabilities = new JpaCapabilityStatementProvider(
				server, systemDao, storageSettings, searchParamRegistry, validationSupport);
		capabilities.setImplementationDescription("healthcare-fhir local HAPI FHIR R4 server");
		server.setServerConformanceProvider(capabilities);
		// pages of 20 unless _count asks for more (HAPI's starter project default)
		pagingProvider.setDefaultPageSize(20);
		pagingProvider.setMaximumPageSize(maximumPageSize());
		server.setPagingProvider(pagingProvider);
		server.setDefaultResponseEncoding(EncodingEnum.JSON);
		server.setServerAddressStrategy(new IncomingRequestAddressStrategy());
		return server;
	}

	@Bean
	public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer restfulServer) {
		ServletRegistrationBean<RestfulServer> reg = new ServletRegistrationBean<>(restfulServer, "/fhir/*");
		reg.setLoadOnStartup(1);
		return reg;
	}

	private static String env(String name, String fallback) {
		String v = System.getenv(name);
		return v == null || v.isBlank() ? fallback : v.trim();
	}
}
