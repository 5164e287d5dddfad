package io.streamvision.security;

/**
 * A call refused by {@link Authenticator}: without a valid token ({@link #authenticated()} false:
 * gRPC {@code UNAUTHENTICATED}, HTTP 401), or with a valid token that lacks the group the endpoint
 * needs (gRPC {@code PERMISSION_DENIED}, HTTP 403). The message says which, and never holds the
 * token.
 */
public final class AccessDeniedException extends Exception {

    private final boolean authenticated;

    AccessDeniedException(boolean authenticated, String message) {
        super(message, null, false, false);
        this.authenticated = authenticated;
    }

    /** True when the caller was identified but lacks the group. */
    public boolean authenticated() {
        return authenticated;
    }
}
