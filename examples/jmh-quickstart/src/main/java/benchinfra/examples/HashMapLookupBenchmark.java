package benchinfra.examples;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Looks up keys in a HashMap of {@code size} entries; about one lookup in eight misses. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 1, time = 100, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 2, time = 100, timeUnit = TimeUnit.MILLISECONDS)
@Fork(1)
@State(Scope.Thread)
public class HashMapLookupBenchmark {

    @Param({"100", "10000"})
    public int size;

    private Map<String, Integer> map;
    private String[] probes;
    private int next;

    @Setup
    public void fill() {
        map = new HashMap<>();
        for (int i = 0; i < size; i++) {
            map.put("key-" + i, i);
        }
        // Probe keys spread over [0, size * 8 / 7), so a few of them are absent.
        probes = new String[1024];
        long seed = 42;
        int range = Math.max(1, size + size / 7);
        for (int i = 0; i < probes.length; i++) {
            seed = seed * 6364136223846793005L + 1442695040888963407L;
            probes[i] = "key-" + (int) ((seed >>> 33) % range);
        }
    }

    @Benchmark
    public Integer lookup() {
        String probe = probes[next];
        next = (next + 1) & (probes.length - 1);
        return map.get(probe);
    }
}
