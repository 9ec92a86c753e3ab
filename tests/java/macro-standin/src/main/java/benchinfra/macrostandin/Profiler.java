package benchinfra.macrostandin;

import java.util.Map;

/** One entry of {@code --profilers}: {@code NAME} or {@code NAME(key=value,...)}. */
record Profiler(String name, Map<String, String> params) {}
