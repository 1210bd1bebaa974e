package org.kvmsim.pages;

/** A dump or page file that cannot be read: which file, at which byte offset, and why. */
public final class BadDump extends Exception {
    public final String file;
    public final long offset;

    public BadDump(String file, long offset, String message) {
        super(message);
        this.file = file;
        this.offset = offset;
    }

    /** {@code FILE: offset N: message}, or {@code FILE: message} when no offset applies (-1). */
    public String render() {
        return file + (offset >= 0 ? ": offset " + offset : "") + ": " + getMessage();
    }
}
