package io.streamvision.testing;

import java.nio.file.Path;

/** Where tests find the committed model repository (Maven's {@code vision.models.dir}) and the project root. */
public final class TestModels {

    private TestModels() {}

    /** The model repository, absolute: {@code vision.models.dir}, or {@code ../../models} from a service module. */
    public static Path dir() {
        return Path.of(System.getProperty("vision.models.dir", "../../models")).toAbsolutePath();
    }

    /** The project root (the repository's parent), where {@code samples/} and {@code media/} lie. */
    public static Path root() {
        return dir().getParent();
    }
}
