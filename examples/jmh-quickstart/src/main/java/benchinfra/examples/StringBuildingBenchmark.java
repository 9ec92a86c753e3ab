package benchinfra.examples;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Builds a short string from a handful of parts, with a StringBuilder and with String.join. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 1, time = 100, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 2, time = 100, timeUnit = TimeUnit.MILLISECONDS)
@Fork(1)
@State(Scope.Thread)
public class StringBuildingBenchmark {

    // Not final, so the JIT cannot fold the work away.
    private String[] parts = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};

    @Benchmark
    public String stringBuilder() {
        StringBuilder sb = new StringBuilder();
        for (String part : parts) {
            sb.append(part).append(',');
        }
        return sb.toString();
    }

    @Benchmark
    public String stringJoin() {
        return String.join(",", parts);
    }
}
