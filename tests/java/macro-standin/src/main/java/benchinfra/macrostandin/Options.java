package benchinfra.macrostandin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parsed and validated command line of {@code run-workload}.
 *
 * <p>Options are {@code --name value} (or {@code --name=value}), in any order, each at most
 * once. Every problem is collected, so one run reports all of them.
 */
final class Options {

    static final String COMMAND = "run-workload";
    static final String PASSWORD_ENV = "BENCH_RESULTS_STORE_PASSWORD";
    /** What an empty {@code --queries} means. */
    static final List<String> ALL_QUERIES = List.of("Q1", "Q2", "Q3");

    static final Set<String> DB_EDITIONS = Set.of("COMMUNITY", "ENTERPRISE");
    static final Map<String, String> TIME_UNITS =
            Map.of("NANOSECONDS", "ns", "MICROSECONDS", "us", "MILLISECONDS", "ms", "SECONDS", "s");
    static final Set<String> RUNTIMES =
            Set.of("DEFAULT", "INTERPRETED", "SLOTTED", "COMPILED", "PIPELINED", "PARALLEL");
    static final Set<String> PLANNERS = Set.of("DEFAULT", "RULE", "COST");
    static final Set<String> EXECUTION_MODES = Set.of("EXECUTE", "PLAN", "PROFILE");
    static final Set<String> ERROR_POLICIES = Set.of("IGNORE", "REPORT_THEN_FAIL", "FAIL");
    static final Set<String> PROFILERS =
            Set.of("ASYNC", "GC", "JFR", "JVM_LOGGING", "MP_STAT", "IO_STAT", "VM_STAT",
                    "PERF_STAT", "NMT", "OOM", "NO_OP");
    static final Set<String> STORE_SCHEMES =
            Set.of("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc");

    private static final List<String> REQUIRED = List.of(
            "workload", "db-edition", "jvm", "profilers", "warmup-count", "measurement-count",
            "min-measurement-duration", "max-measurement-duration", "forks", "time-unit",
            "runtime", "planner", "execution-mode", "error-policy", "jvm-args",
            "neo4j-deployment", "neo4j-commit", "neo4j-version", "neo4j-branch",
            "neo4j-branch-owner", "tool-commit", "tool-branch", "tool-branch-owner",
            "teamcity-build", "parent-teamcity-build", "triggered-by", "db-name", "db-dir",
            "neo4j-config", "work-dir", "results-path");
    private static final List<String> OPTIONAL =
            List.of("queries", "results-store-uri", "results-store-user");
    /** Required options whose value may be empty. */
    private static final Set<String> MAY_BE_EMPTY = Set.of("profilers", "jvm-args");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]*");
    private static final Pattern PROFILER = Pattern.compile("([A-Z_]+)(?:\\((.*)\\))?");
    private static final Pattern STORE_URI =
            Pattern.compile("([a-z0-9+]+)://(?:([^@/]*)@)?([^/?#@]+)(/.*)?");

    String workload;
    List<String> queries;
    String dbEdition;
    String jvm;
    List<Profiler> profilers;
    int warmupCount;
    int measurementCount;
    int minMeasurementDuration;
    int maxMeasurementDuration;
    int forks;
    String timeUnit;
    String runtime;
    String planner;
    String executionMode;
    String errorPolicy;
    String jvmArgs;
    String neo4jDeployment;
    Map<String, String> provenance = new LinkedHashMap<>();
    String dbName;
    Path dbDir;
    Path neo4jConfig;
    Path workDir;
    Path resultsPath;
    String resultsStoreUri;
    String resultsStoreUser;

    private final List<String> problems = new ArrayList<>();

    private Options() {}

    /** The short unit written in the results file: ns, us, ms or s. */
    String unitShort() {
        return TIME_UNITS.get(timeUnit);
    }

    static Options parse(String[] args, Map<String, String> env) throws UsageException {
        Options o = new Options();
        Map<String, String> raw = o.readArgs(args, env.get(PASSWORD_ENV));
        if (raw != null) {
            o.validate(raw, env);
        }
        if (!o.problems.isEmpty()) {
            throw new UsageException(o.problems);
        }
        return o;
    }

    private void problem(String text) {
        problems.add(text);
    }

    private static boolean isSecretName(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.contains("pass") || lower.contains("secret");
    }

    /** Splits the command line into option values; null when it is too broken to go on. */
    private Map<String, String> readArgs(String[] args, String password) {
        // A password long enough not to match by accident must appear in no argument at all.
        if (password != null && password.length() >= 8) {
            for (int i = 0; i < args.length; i++) {
                if (args[i].contains(password)) {
                    problem("argument " + (i + 1) + " contains the value of " + PASSWORD_ENV
                            + ": secrets must not be on the command line");
                }
            }
        }
        if (args.length == 0) {
            problem("missing command: expected '" + COMMAND + "' followed by options");
            return null;
        }
        if (!args[0].equals(COMMAND)) {
            if (args[0].startsWith("-")) {
                problem("missing command: the first argument must be '" + COMMAND + "'");
            } else {
                problem("unknown command '" + args[0] + "': expected '" + COMMAND + "'");
            }
            return null;
        }
        Set<String> known = new LinkedHashSet<>(REQUIRED);
        known.addAll(OPTIONAL);
        Map<String, String> raw = new LinkedHashMap<>();
        int i = 1;
        while (i < args.length) {
            String token = args[i++];
            if (!token.startsWith("--") || token.length() == 2) {
                problem("unexpected argument " + i + " (options are written --name value)");
                continue;
            }
            String name = token.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            boolean secret = isSecretName(name);
            if (secret || !known.contains(name)) {
                if (secret) {
                    // Never repeat the value: it may be the secret itself.
                    problem("option --" + name + " is rejected: secrets must not be on the"
                            + " command line (the results store password is read from the "
                            + PASSWORD_ENV + " environment variable)");
                } else {
                    problem("unknown option --" + name);
                }
                if (value == null && i < args.length && !args[i].startsWith("--")) {
                    i++; // skip its value
                }
                continue;
            }
            if (value == null) {
                // JVM arguments may themselves start with "--" (e.g. --add-opens=...).
                if (i < args.length && (name.equals("jvm-args") || !args[i].startsWith("--"))) {
                    value = args[i++];
                } else {
                    problem("option --" + name + " needs a value");
                    continue;
                }
            }
            if (raw.containsKey(name)) {
                problem("option --" + name + " is given more than once");
                continue;
            }
            raw.put(name, value);
        }
        return raw;
    }

    private void validate(Map<String, String> raw, Map<String, String> env) {
        for (String name : REQUIRED) {
            if (!raw.containsKey(name)) {
                problem("missing required option --" + name);
            } else if (!MAY_BE_EMPTY.contains(name) && raw.get(name).isBlank()) {
                problem("option --" + name + " must not be empty");
            }
        }

        workload = text(raw, "workload");
        queries = queries(raw.get("queries"));
        dbEdition = choice(raw, "db-edition", DB_EDITIONS);
        jvm = text(raw, "jvm");
        if (jvm != null && !jvm.isBlank() && jvm.contains("/")) {
            Path p = Paths.get(jvm);
            if (!Files.isRegularFile(p) || !Files.isExecutable(p)) {
                problem("--jvm " + jvm + " is not an executable file");
            }
        }
        profilers = profilers(raw.get("profilers"));
        warmupCount = integer(raw, "warmup-count", 0);
        measurementCount = integer(raw, "measurement-count", 1);
        minMeasurementDuration = integer(raw, "min-measurement-duration", 0);
        maxMeasurementDuration = integer(raw, "max-measurement-duration", 0);
        if (raw.containsKey("min-measurement-duration") && raw.containsKey("max-measurement-duration")
                && minMeasurementDuration > maxMeasurementDuration) {
            problem("--min-measurement-duration " + minMeasurementDuration
                    + " is greater than --max-measurement-duration " + maxMeasurementDuration);
        }
        forks = integer(raw, "forks", 0);
        timeUnit = choice(raw, "time-unit", TIME_UNITS.keySet());
        runtime = choice(raw, "runtime", RUNTIMES);
        planner = choice(raw, "planner", PLANNERS);
        executionMode = choice(raw, "execution-mode", EXECUTION_MODES);
        errorPolicy = choice(raw, "error-policy", ERROR_POLICIES);
        jvmArgs = raw.get("jvm-args");
        if (jvmArgs != null) {
            List<String> words = splitWords(jvmArgs);
            if (words == null) {
                problem("--jvm-args: unbalanced quotes");
            } else {
                for (String arg : words) {
                    if (!arg.startsWith("-")) {
                        problem("--jvm-args: '" + arg + "' is not a JVM option (JVM options start with '-')");
                    }
                }
            }
        }
        neo4jDeployment = text(raw, "neo4j-deployment");
        if (neo4jDeployment != null && !neo4jDeployment.isBlank()
                && !neo4jDeployment.equals("embedded")
                && !(neo4jDeployment.startsWith("server:") && neo4jDeployment.length() > "server:".length())) {
            problem("--neo4j-deployment '" + neo4jDeployment + "' is not 'embedded' or 'server:<neo4j dir>'");
        }
        for (String name : List.of("neo4j-commit", "neo4j-version", "neo4j-branch", "neo4j-branch-owner",
                "tool-commit", "tool-branch", "tool-branch-owner", "teamcity-build",
                "parent-teamcity-build", "triggered-by")) {
            provenance.put(name, text(raw, name));
        }

        dbName = text(raw, "db-name");
        if (dbName != null && !dbName.isBlank() && !NAME.matcher(dbName).matches()) {
            problem("--db-name '" + dbName + "' is not a database name (letters, digits, _ . -)");
        }
        String dir = raw.get("db-dir");
        if (dir != null && !dir.isBlank()) {
            dbDir = Paths.get(dir);
            if (!Files.isDirectory(dbDir)) {
                problem("--db-dir " + dir + " is not an existing directory");
            }
        }
        String conf = raw.get("neo4j-config");
        if (conf != null && !conf.isBlank()) {
            neo4jConfig = Paths.get(conf);
            if (!Files.isRegularFile(neo4jConfig)) {
                problem("--neo4j-config " + conf + " is not an existing file");
            }
        }
        String work = raw.get("work-dir");
        if (work != null && !work.isBlank()) {
            workDir = Paths.get(work);
            if (Files.exists(workDir) && !Files.isDirectory(workDir)) {
                problem("--work-dir " + work + " exists and is not a directory");
            }
        }
        String results = raw.get("results-path");
        if (results != null && !results.isBlank()) {
            resultsPath = Paths.get(results);
            if (Files.isDirectory(resultsPath)) {
                problem("--results-path " + results + " is a directory");
            }
        }

        resultsStoreUri = raw.get("results-store-uri");
        resultsStoreUser = raw.get("results-store-user");
        if (resultsStoreUri != null) {
            Matcher m = STORE_URI.matcher(resultsStoreUri);
            if (!m.matches()) {
                // The URI is not repeated: a malformed one may still carry credentials.
                problem("--results-store-uri is not a URI like bolt://host:7687");
            } else if (m.group(2) != null) {
                problem("--results-store-uri must not contain credentials (user@ or user:password@):"
                        + " secrets must not be on the command line");
            } else if (!STORE_SCHEMES.contains(m.group(1))) {
                problem("--results-store-uri scheme '" + m.group(1) + "' is not one of "
                        + String.join(", ", new java.util.TreeSet<>(STORE_SCHEMES)));
            }
            if (resultsStoreUser == null || resultsStoreUser.isBlank()) {
                problem("--results-store-uri needs --results-store-user");
            }
            String password = env.get(PASSWORD_ENV);
            if (password == null || password.isEmpty()) {
                problem("--results-store-uri is given but the environment variable " + PASSWORD_ENV
                        + " is not set");
            }
        } else if (resultsStoreUser != null) {
            problem("--results-store-user is given without --results-store-uri");
        }
    }

    private static String text(Map<String, String> raw, String name) {
        return raw.get(name);
    }

    private String choice(Map<String, String> raw, String name, Set<String> allowed) {
        String value = raw.get(name);
        if (value == null || value.isBlank()) {
            return null; // already reported as missing or empty
        }
        if (!allowed.contains(value)) {
            problem("--" + name + " '" + value + "' is not one of "
                    + String.join(", ", new java.util.TreeSet<>(allowed)));
            return null;
        }
        return value;
    }

    private int integer(Map<String, String> raw, String name, int min) {
        String value = raw.get(name);
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n < min) {
                problem("--" + name + " " + n + " is less than " + min);
            }
            return n;
        } catch (NumberFormatException e) {
            problem("--" + name + " '" + value + "' is not an integer");
            return 0;
        }
    }

    private List<String> queries(String value) {
        if (value == null || value.isBlank()) {
            return ALL_QUERIES;
        }
        List<String> out = new ArrayList<>();
        for (String q : value.split(",", -1)) {
            String name = q.trim();
            if (!NAME.matcher(name).matches()) {
                problem("--queries: '" + name + "' is not a query name (letters, digits, _ . -)");
            } else if (out.contains(name)) {
                problem("--queries: " + name + " is listed twice");
            } else {
                out.add(name);
            }
        }
        return out;
    }

    private List<Profiler> profilers(String value) {
        List<Profiler> out = new ArrayList<>();
        if (value == null || value.isBlank()) {
            return out;
        }
        for (String entry : splitTopLevel(value)) {
            String spec = entry.trim();
            Matcher m = PROFILER.matcher(spec);
            if (!m.matches()) {
                problem("--profilers: '" + spec + "' is not NAME or NAME(key=value,...)");
                continue;
            }
            String name = m.group(1);
            if (!PROFILERS.contains(name)) {
                problem("--profilers: unknown profiler " + name + " (known: "
                        + String.join(", ", new java.util.TreeSet<>(PROFILERS)) + ")");
                continue;
            }
            if (out.stream().anyMatch(p -> p.name().equals(name))) {
                problem("--profilers: " + name + " is listed twice");
                continue;
            }
            Map<String, String> params = new LinkedHashMap<>();
            if (m.group(2) != null && !m.group(2).isBlank()) {
                for (String kv : m.group(2).split(",")) {
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        problem("--profilers: parameter '" + kv.trim() + "' of " + name + " is not key=value");
                    } else {
                        params.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
                    }
                }
            }
            out.add(new Profiler(name, params));
        }
        return out;
    }

    /**
     * Splits like a POSIX shell would for plain words: whitespace separates, single and double
     * quotes group (a backslash escapes the next character outside single quotes). Null when a
     * quote is left open.
     */
    static List<String> splitWords(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote == '\'') {
                if (c == '\'') {
                    quote = 0;
                } else {
                    word.append(c);
                }
            } else if (c == '\\' && i + 1 < text.length()) {
                word.append(text.charAt(++i));
                inWord = true;
            } else if (quote == '"') {
                if (c == '"') {
                    quote = 0;
                } else {
                    word.append(c);
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
                inWord = true;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (quote != 0) {
            return null;
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }

    /** Splits on commas outside parentheses: "ASYNC(a=1,b=2),GC" has two entries. */
    private List<String> splitTopLevel(String value) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
                if (depth < 0) {
                    problem("--profilers: unbalanced parentheses in '" + value + "'");
                    return out;
                }
            } else if (c == ',' && depth == 0) {
                out.add(value.substring(start, i));
                start = i + 1;
            }
        }
        if (depth != 0) {
            problem("--profilers: unbalanced parentheses in '" + value + "'");
            return out;
        }
        out.add(value.substring(start));
        return out;
    }
}
