package io.streamvision.cli;

/** Process exit codes of the {@code vision} command (documented in its help and README). */
public final class ExitCodes {

    public static final int OK = 0;
    public static final int SOME_FAILED = 1;
    public static final int USAGE = 2;
    public static final int UNREACHABLE = 3;
    public static final int BAD_INPUT = 4;
    public static final int TIMED_OUT = 5;

    private ExitCodes() {}
}
