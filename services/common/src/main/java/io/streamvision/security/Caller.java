package io.streamvision.security;

import java.util.Set;

/**
 * Who made a call: the token's subject (or the API key's name), its groups, and how it was
 * identified ({@code jwt}, {@code api-key}, or {@code anonymous} when authentication is off).
 */
public record Caller(String name, Set<String> groups, String via) {

    /** Every call while authentication is off. */
    public static final Caller ANONYMOUS = new Caller("anonymous", Set.of(), "anonymous");
}
