package benchinfra.macrostandin;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A stand-in for the Neo4j macro benchmark tool: {@code java -jar macro-standin.jar run-workload
 * ...} checks its options like the real tool, then "runs" each query by making up latency samples
 * and writes them to {@code --results-path}. See README.md for the formats.
 *
 * <p>Exit codes: 0 success; 1 a query failed (unless {@code --error-policy IGNORE}) or the
 * results could not be written; 2 bad command line.
 */
public final class Main {

    static final String TOOL = "macro-standin";
    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = Options.parse(args, env);
        } catch (UsageException e) {
            for (String problem : e.problems()) {
                err.println(TOOL + ": " + problem);
            }
            return EXIT_USAGE;
        }
        try {
            return runWorkload(o, out, err);
        } catch (IOException e) {
            err.println(TOOL + ": I/O error: " + e);
            return EXIT_FAILED;
        }
    }

    /** A query whose name is FAILING (or starts with FAILING_) fails on purpose. */
    static boolean failsOnPurpose(String query) {
        return query.equals("FAILING") || query.startsWith("FAILING_");
    }

    private static int runWorkload(Options o, PrintStream out, PrintStream err) throws IOException {
        Files.createDirectories(o.workDir);
        if (o.resultsStoreUri != null) {
            // Only says that a password was found; never anything about it.
            out.println("results store: " + o.resultsStoreUri + " as " + o.resultsStoreUser
                    + " (password from " + Options.PASSWORD_ENV + ")");
        }
        int samplesPerQuery = o.measurementCount * Math.max(o.forks, 1);
        List<String> benchmarks = new ArrayList<>();
        int failed = 0;
        for (String query : o.queries) {
            String label = "running " + o.workload + "/" + query + " (warmup " + o.warmupCount
                    + ", measurement " + o.measurementCount + ", forks " + o.forks + ", "
                    + o.executionMode + ") ...";
            if (failsOnPurpose(query)) {
                String error = "query " + query + " failed: simulated";
                out.println(label + " FAILED");
                err.println(TOOL + ": " + error);
                benchmarks.add(benchmark(o, query, List.of(), error));
                failed++;
                if (o.errorPolicy.equals("FAIL")) {
                    break;
                }
                continue;
            }
            List<Double> samples = samples(o, query, samplesPerQuery);
            writeRecordings(o, query);
            out.println(label + " ok, " + samples.size() + " samples (" + o.unitShort() + ")");
            benchmarks.add(benchmark(o, query, samples, null));
        }
        writeResults(o, benchmarks);
        out.flush();
        return failed > 0 && !o.errorPolicy.equals("IGNORE") ? EXIT_FAILED : EXIT_OK;
    }

    /** Made-up latencies, the same for the same workload and query, always positive. */
    static List<Double> samples(Options o, String query, int count) {
        SplittableRandom random = new SplittableRandom((o.workload + "/" + query).hashCode());
        double baseMicros = 50 + random.nextInt(950);
        double perMicro = switch (o.timeUnit) {
            case "NANOSECONDS" -> 1e3;
            case "MICROSECONDS" -> 1;
            case "MILLISECONDS" -> 1e-3;
            case "SECONDS" -> 1e-6;
            default -> throw new IllegalStateException(o.timeUnit);
        };
        List<Double> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(baseMicros * (0.8 + 0.4 * random.nextDouble()) * perMicro);
        }
        return out;
    }

    private static String benchmark(Options o, String query, List<Double> samples, String error) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("runtime", o.runtime);
        params.put("planner", o.planner);
        params.put("execution_mode", o.executionMode);
        params.put("deployment", o.neo4jDeployment);
        return "{\"group\":" + Json.string(o.workload)
                + ",\"name\":" + Json.string(query)
                + ",\"mode\":\"LATENCY\""
                + ",\"unit\":" + Json.string(o.unitShort())
                + ",\"params\":" + Json.object(params)
                + ",\"samples\":" + Json.numbers(samples)
                + ",\"error\":" + Json.string(error)
                + "}";
    }

    private static void writeRecordings(Options o, String query) throws IOException {
        if (o.profilers.isEmpty()) {
            return;
        }
        Path dir = o.workDir.resolve("recordings").resolve(query);
        Files.createDirectories(dir);
        for (Profiler p : o.profilers) {
            String text = "macro-standin recording\nprofiler: " + p.name() + "\nparameters: "
                    + p.params() + "\nworkload: " + o.workload + "\nquery: " + query + "\n";
            Files.writeString(dir.resolve(p.name() + ".txt"), text, StandardCharsets.UTF_8);
        }
    }

    /** Written to a temporary file first, so a reader never sees half a file. */
    private static void writeResults(Options o, List<String> benchmarks) throws IOException {
        String json = "{\"tool\":\"" + TOOL + "\",\"benchmarks\":[" + String.join(",", benchmarks) + "]}\n";
        Path target = o.resultsPath.toAbsolutePath();
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, json, StandardCharsets.UTF_8);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
