package io.streamvision.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a crash test checks at the end: each input id has exactly one output. Counts the outputs per
 * id and names the inputs with none (lost) and with more than one (duplicated).
 */
public record ExactlyOnce(int inputs, int outputs, List<String> missing, List<String> duplicated) {

    /** Compares the ids of the outputs (in any order, repeats counted) with the input ids. */
    public static ExactlyOnce of(List<String> inputIds, List<String> outputIds) {
        Map<String, Integer> counts = new HashMap<>();
        outputIds.forEach(id -> counts.merge(id, 1, Integer::sum));
        List<String> missing = new ArrayList<>();
        List<String> duplicated = new ArrayList<>();
        for (String id : inputIds) {
            int n = counts.getOrDefault(id, 0);
            if (n == 0) {
                missing.add(id);
            } else if (n > 1) {
                duplicated.add(id);
            }
        }
        return new ExactlyOnce(inputIds.size(), outputIds.size(), missing, duplicated);
    }

    /** E.g. {@code "2000 outputs for 2000 inputs, 0 missing, 0 duplicated"}. */
    public String summary() {
        return outputs + " outputs for " + inputs + " inputs, " + missing.size() + " missing, " + duplicated.size()
                + " duplicated";
    }

    /** Fails naming up to ten lost and ten duplicated inputs, then on the output count. */
    public void assertExactlyOnce() {
        assertEquals(List.of(), missing.subList(0, Math.min(10, missing.size())), "no input is lost");
        assertEquals(List.of(), duplicated.subList(0, Math.min(10, duplicated.size())), "no input is output twice");
        assertEquals(inputs, outputs, "one output per input");
    }
}
