package benchinfra.examples;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A benchmark that fails on demand, for testing how the worker handles a failing benchmark.
 *
 * <p>{@link #maybeFail()} throws when the system property {@value #FAIL_PROPERTY} is {@code
 * "true"} in the benchmark JVM. JMH forks inherit the host JVM's arguments, so {@code java
 * -Dbenchinfra.example.fail=true -jar benchmarks.jar ...} is enough; {@code -jvmArgsAppend
 * -Dbenchinfra.example.fail=true} works too. Otherwise it does a trivial amount of work.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 1, time = 100, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 2, time = 100, timeUnit = TimeUnit.MILLISECONDS)
@Fork(1)
@State(Scope.Thread)
public class FailingBenchmark {

    public static final String FAIL_PROPERTY = "benchinfra.example.fail";

    private boolean fail;
    private long counter;

    @Setup
    public void readProperty() {
        fail = Boolean.parseBoolean(System.getProperty(FAIL_PROPERTY, "false"));
    }

    @Benchmark
    public long maybeFail() {
        if (fail) {
            throw new IllegalStateException(
                    "FailingBenchmark.maybeFail: failing on purpose (" + FAIL_PROPERTY + "=true)");
        }
        return ++counter;
    }
}
