package org.kvmsim.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.kvmsim.lang.SourceFile;

/** Reads script files; bytes that are not UTF-8 become U+FFFD so the parser can point at them. */
final class Scripts {

    private Scripts() {}

    static SourceFile read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        String text = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE)
                .decode(ByteBuffer.wrap(bytes)).toString();
        return new SourceFile(file.toString(), text);
    }
}
