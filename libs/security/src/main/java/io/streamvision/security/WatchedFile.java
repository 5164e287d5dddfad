package io.streamvision.security;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The parsed content of a file that is read again when its modification time changes (checked at
 * most every two seconds), as a Kubernetes Secret mount changes on rotation. A change that does not
 * parse keeps the previous content and logs why; the first read must succeed.
 */
final class WatchedFile<T> {

    /** Parses the file's text. */
    interface Parser<T> {
        T parse(String text) throws Exception;
    }

    private static final Logger LOG = Logger.getLogger(WatchedFile.class);
    private static final long CHECK_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final Path path;
    private final Parser<T> parser;
    private volatile T value;
    private volatile FileTime modified;
    private volatile long checked;

    WatchedFile(Path path, Parser<T> parser) {
        this.path = path;
        this.parser = parser;
        try {
            this.modified = Files.getLastModifiedTime(path);
            this.value = parser.parse(Files.readString(path));
        } catch (Exception e) {
            throw new IllegalStateException("cannot read " + path + ": " + e.getMessage(), e);
        }
        this.checked = System.nanoTime();
    }

    T get() {
        long now = System.nanoTime();
        if (now - checked >= CHECK_NANOS) {
            checked = now;
            reloadIfChanged();
        }
        return value;
    }

    private synchronized void reloadIfChanged() {
        try {
            FileTime time = Files.getLastModifiedTime(path);
            if (!time.equals(modified)) {
                modified = time;
                value = parser.parse(Files.readString(path));
                LOG.infof("re-read %s", path);
            }
        } catch (IOException e) {
            LOG.warnf("cannot re-read %s, keeping its previous content: %s", path, e.getMessage());
        } catch (Exception e) {
            LOG.warnf("%s changed but does not parse, keeping its previous content: %s", path, e.getMessage());
        }
    }
}
