package io.streamvision.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/** Expands the file and directory arguments of a command into the files it will send. */
public final class Inputs {

    public static final Set<String> IMAGE_EXTENSIONS =
            Set.of("png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff");
    public static final Set<String> VIDEO_EXTENSIONS =
            Set.of("mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "mpg", "mpeg");

    private Inputs() {}

    /**
     * Files named directly must exist and have one of {@code extensions}; directories contribute
     * their matching files (not recursive), sorted by name.
     *
     * @throws CliException with {@link ExitCodes#BAD_INPUT} naming the first bad argument
     */
    public static List<Path> expand(List<Path> arguments, Set<String> extensions, String kind) {
        List<Path> files = new ArrayList<>();
        for (Path arg : arguments) {
            if (Files.isDirectory(arg)) {
                try (Stream<Path> list = Files.list(arg)) {
                    List<Path> found = list.filter(Files::isRegularFile)
                            .filter(p -> extensions.contains(extension(p)))
                            .sorted()
                            .toList();
                    if (found.isEmpty()) {
                        throw new CliException(
                                ExitCodes.BAD_INPUT,
                                "no "
                                        + kind
                                        + " files ("
                                        + String.join(
                                                ", ",
                                                extensions.stream().sorted().toList())
                                        + ") in directory "
                                        + arg);
                    }
                    files.addAll(found);
                } catch (IOException e) {
                    throw new CliException(ExitCodes.BAD_INPUT, "cannot list directory " + arg + ": " + e.getMessage());
                }
            } else if (!Files.exists(arg)) {
                throw new CliException(ExitCodes.BAD_INPUT, "no such file: " + arg);
            } else if (!Files.isReadable(arg)) {
                throw new CliException(ExitCodes.BAD_INPUT, "cannot read " + arg);
            } else if (!extensions.contains(extension(arg))) {
                throw new CliException(
                        ExitCodes.BAD_INPUT,
                        "unsupported "
                                + kind
                                + " format: "
                                + arg
                                + " (expected one of "
                                + String.join(", ", extensions.stream().sorted().toList())
                                + ")");
            } else {
                files.add(arg);
            }
        }
        return files;
    }

    public static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CliException(ExitCodes.BAD_INPUT, "cannot read " + file + ": " + e.getMessage());
        }
    }

    /** The file name without its extension (the start of request and video ids). */
    public static String stem(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    static String extension(Path p) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
