package io.streamvision.captioning.decode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A caption model's vocabulary: token strings by id and the special tokens, read from the {@code
 * vocab.json} beside the decoder. Immutable and thread-safe.
 */
public record Vocabulary(List<String> tokens, int pad, int start, int end, int unknown, int maxLength) {

    /**
     * Reads a vocabulary file ({@code {"tokens": [...], "pad": 0, "start": 1, "end": 2, "unk": 3,
     * "max_length": N}}).
     */
    public static Vocabulary read(Path file) {
        try {
            JsonNode json = new ObjectMapper().readTree(file.toFile());
            List<String> tokens = new ArrayList<>();
            json.get("tokens").forEach(t -> tokens.add(t.asText()));
            return new Vocabulary(
                    List.copyOf(tokens),
                    json.path("pad").asInt(0),
                    json.path("start").asInt(1),
                    json.path("end").asInt(2),
                    json.path("unk").asInt(3),
                    json.path("max_length").asInt(24));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read vocabulary " + file + ": " + e.getMessage(), e);
        }
    }

    /** Words of a token sequence, special tokens left out. */
    public String text(List<Long> ids) {
        StringBuilder text = new StringBuilder();
        for (long id : ids) {
            if (id == pad || id == start || id == end || id < 0 || id >= tokens.size()) {
                continue;
            }
            if (text.length() > 0) {
                text.append(' ');
            }
            text.append(tokens.get((int) id));
        }
        return text.toString();
    }
}
