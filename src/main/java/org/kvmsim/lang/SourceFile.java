package org.kvmsim.lang;

import java.util.ArrayList;
import java.util.List;

/** A script's text and name, with its lines indexed so diagnostics can quote them. */
public record SourceFile(String name, String text) {

    public String line(int number) {
        List<String> lines = lines();
        return number >= 1 && number <= lines.size() ? lines.get(number - 1) : "";
    }

    private List<String> lines() {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r') {
                out.add(text.substring(start, i));
                if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') i++;
                start = i + 1;
            }
        }
        out.add(text.substring(start));
        return out;
    }
}
