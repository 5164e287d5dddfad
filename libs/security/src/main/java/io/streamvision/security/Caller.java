package io.streamvision.security;

import java.util.Set;

/** Who made a call: the token's subject (or the API key's name) and its groups. */
public record Caller(String name, Set<String> groups) {

    /** Every call while authentication is off. */
    public static final Caller ANONYMOUS = new Caller("anonymous", Set.of());
}
