package benchinfra.harness;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

/**
 * Starts a real Neo4j (the test harness, in this JVM) for the Python tests.
 *
 * <p>Bolt listens on the given address (loopback by default), authentication is on and the
 * user {@code neo4j} gets the given password. The data directory is fixed, so a stop and a
 * start with the same {@code --data-dir} keep what was written (the outage tests need that).
 *
 * <p>Prints {@code NEO4J-HARNESS READY bolt://HOST:PORT} on stdout once Bolt accepts
 * connections with the password. Stops cleanly on SIGTERM/SIGINT and, with
 * {@code --exit-on-stdin-close}, when its standard input closes (so a test run that dies
 * does not leave a JVM behind).
 *
 * <p>Arguments: {@code --port N --data-dir DIR [--host ADDR] [--work-dir DIR]
 * [--exit-on-stdin-close]}; the password comes from the environment variable
 * {@code NEO4J_HARNESS_PASSWORD} (never a command-line argument), default {@code neo4j}.
 */
public final class Launcher {
  static final String READY = "NEO4J-HARNESS READY";
  static final String PASSWORD_ENV = "NEO4J_HARNESS_PASSWORD";
  private static final Duration ONE_SECOND = Duration.ofSeconds(1);

  private Launcher() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = parse(args);
    String host = opts.getOrDefault("--host", "127.0.0.1");
    int port = Integer.parseInt(require(opts, "--port"));
    Path dataDir = Paths.get(require(opts, "--data-dir")).toAbsolutePath();
    Path workDir =
        Paths.get(opts.getOrDefault("--work-dir", dataDir.resolveSibling("harness-work").toString()))
            .toAbsolutePath();
    String password = System.getenv().getOrDefault(PASSWORD_ENV, "neo4j");
    Files.createDirectories(dataDir);
    Files.createDirectories(workDir);

    Neo4j neo4j =
        Neo4jBuilders.newInProcessBuilder(workDir)
            .withDisabledServer()
            .withConfig(GraphDatabaseSettings.data_directory, dataDir)
            .withConfig(GraphDatabaseSettings.auth_enabled, true)
            // A test server: stop in about a second, not in the production defaults' ~12 s.
            .withConfig(GraphDatabaseSettings.shutdown_transaction_end_timeout, ONE_SECOND)
            .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
            .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, ONE_SECOND)
            .withConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, ONE_SECOND)
            .withConfig(BoltConnector.enabled, true)
            .withConfig(BoltConnector.listen_address, new SocketAddress(host, port))
            .withConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
            .build();

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("neo4j-harness: stopping");
                  neo4j.close();
                  stopped.countDown();
                },
                "neo4j-harness-stop"));

    setPassword(neo4j, password);
    System.out.println(READY + " " + neo4j.boltURI());
    System.out.flush();

    if (opts.containsKey("--exit-on-stdin-close")) {
      drain(System.in);
      System.exit(0);
    }
    stopped.await();
  }

  /** The harness starts with the default user; give it the test password, no change needed. */
  private static void setPassword(Neo4j neo4j, String password) {
    try {
      neo4j
          .databaseManagementService()
          .database("system")
          .executeTransactionally(
              "ALTER USER neo4j SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED",
              Map.of("password", password));
    } catch (RuntimeException e) {
      // A restart on a kept data directory: the user already has this password.
      if (!String.valueOf(e.getMessage()).contains("Old password and new password")) {
        throw e;
      }
    }
  }

  private static void drain(InputStream in) {
    byte[] buffer = new byte[256];
    try {
      while (in.read(buffer) >= 0) {
        // only waiting for end-of-file
      }
    } catch (IOException e) {
      // a broken pipe means the parent is gone: stop as well
    }
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> opts = new java.util.HashMap<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--exit-on-stdin-close")) {
        opts.put(arg, "true");
      } else if (arg.startsWith("--") && i + 1 < args.length) {
        opts.put(arg, args[++i]);
      } else {
        throw new IllegalArgumentException("unexpected argument: " + arg);
      }
    }
    return opts;
  }

  private static String require(Map<String, String> opts, String name) {
    String value = opts.get(name);
    if (value == null) {
      throw new IllegalArgumentException(name + " is required");
    }
    return value;
  }
}
