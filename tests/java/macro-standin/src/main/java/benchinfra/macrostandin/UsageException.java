package benchinfra.macrostandin;

import java.util.List;

/** Bad command line: every problem found, each printed on its own line, then exit 2. */
final class UsageException extends Exception {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    UsageException(List<String> problems) {
        super(String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    List<String> problems() {
        return problems;
    }
}
