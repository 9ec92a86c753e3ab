package benchinfra.macrostandin;

import java.util.List;
import java.util.Map;

/** Just enough JSON writing for the results file. */
final class Json {

    private Json() {}

    static String string(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    static String object(Map<String, String> fields) {
        StringBuilder sb = new StringBuilder("{");
        String sep = "";
        for (Map.Entry<String, String> e : fields.entrySet()) {
            sb.append(sep).append(string(e.getKey())).append(':').append(string(e.getValue()));
            sep = ",";
        }
        return sb.append('}').toString();
    }

    /** Finite doubles only; Double.toString's "1.0E-4" form is valid JSON. */
    static String numbers(List<Double> values) {
        StringBuilder sb = new StringBuilder("[");
        String sep = "";
        for (double v : values) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("not a finite number: " + v);
            }
            sb.append(sep).append(Double.toString(v));
            sep = ",";
        }
        return sb.append(']').toString();
    }
}
