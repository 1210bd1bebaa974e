package org.kvmsim.lang.libvirt;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UnsupportedEncodingException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.parsers.SAXParser;
import javax.xml.parsers.SAXParserFactory;
import org.xml.sax.Attributes;
import org.xml.sax.Locator;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * An XML file read into a small tree of elements that remember where they start, so that a
 * mapping can point a diagnostic at the element it is about. Read with the JDK's SAX parser
 * hardened against hostile input: no DOCTYPE at all (so no entities, internal or external, and no
 * entity expansion), secure processing on, and files over {@link #MAX_BYTES} refused unread.
 */
final class XmlTree {

    /** The largest file read: libvirt's own domain files are a few KiB. */
    static final long MAX_BYTES = 4L << 20;

    /** An element: name, attributes, its own text (trimmed), children, and the line and column of its start tag. */
    record Element(String name, Map<String, String> attrs, String text, List<Element> children, int line, int column) {

        Element child(String childName) {
            for (Element c : children) if (c.name.equals(childName)) return c;
            return null;
        }

        List<Element> all(String childName) {
            List<Element> out = new ArrayList<>();
            for (Element c : children) if (c.name.equals(childName)) out.add(c);
            return out;
        }

        String attr(String key) {
            return attrs.get(key);
        }
    }

    /** Why a file could not be read: a message and where (line and column 0 when not known). */
    static final class BadXml extends Exception {
        final int line, column;

        BadXml(String message, int line, int column) {
            super(message, null, false, false);
            this.line = line;
            this.column = column;
        }
    }

    private XmlTree() {}

    static Element read(Path file) throws BadXml {
        // a regular file only (a device or a FIFO could block or never end), read no further
        // than the limit whatever size it claims
        if (!Files.isRegularFile(file)) {
            throw new BadXml(Files.exists(file) ? "cannot read it: not a regular file" : "cannot read it: no such file", 0, 0);
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes((int) MAX_BYTES + 1);
        } catch (IOException e) {
            throw new BadXml("cannot read it: " + reason(e), 0, 0);
        }
        if (bytes.length > MAX_BYTES) {
            throw new BadXml("the file is over " + MAX_BYTES + " bytes; a domain file is a few KiB", 0, 0);
        }
        String[] lines = new String(bytes, java.nio.charset.StandardCharsets.UTF_8).split("\\r?\\n|\\r", -1);
        try {
            return parse(new ByteArrayInputStream(bytes), lines);
        } catch (IOException e) {
            throw new BadXml("cannot read it: " + reason(e), 0, 0);
        }
    }

    private static String reason(IOException e) {
        return e instanceof NoSuchFileException ? "no such file" : String.valueOf(e.getMessage());
    }

    /** The deepest nesting read: a domain file nests a handful of levels. */
    static final int MAX_DEPTH = 64;

    static Element parse(InputStream in, String[] lines) throws BadXml, IOException {
        SAXParser parser;
        try {
            SAXParserFactory f = SAXParserFactory.newInstance();
            f.setNamespaceAware(false);
            f.setValidating(false);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature("http://xml.org/sax/features/external-general-entities", false);
            f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
            f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
            f.setXIncludeAware(false);
            parser = f.newSAXParser();
            try {
                // the parser's own messages in English whatever the user's locale (byte-stable output)
                parser.setProperty("http://apache.org/xml/properties/locale", Locale.ROOT);
            } catch (SAXException e) {
                // a parser without the property speaks the JVM's language
            }
        } catch (ParserConfigurationException | SAXException e) {
            throw new IllegalStateException("the JDK's XML parser cannot be hardened", e);
        }
        Builder b = new Builder(lines);
        try {
            parser.parse(in, b);
        } catch (SAXParseException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("DOCTYPE")) m = "a DOCTYPE is not allowed (libvirt's domain files have none; entities are refused)";
            throw new BadXml(m, Math.max(0, e.getLineNumber()), Math.max(0, e.getColumnNumber()));
        } catch (SAXException e) {
            throw new BadXml(String.valueOf(e.getMessage()), 0, 0);
        } catch (UnsupportedEncodingException e) {
            throw new BadXml("unsupported encoding '" + clip(e.getMessage()) + "'", 1, 1);
        }
        return b.root;
    }

    /** A value as a message may quote it: at most 64 characters. */
    static String clip(String s) {
        return s == null || s.length() <= 64 ? s : s.substring(0, 61) + "...";
    }

    private static final class Builder extends DefaultHandler {
        private final String[] lines;
        private Locator locator;

        Builder(String[] lines) {
            this.lines = lines;
        }
        private final Deque<Mutable> open = new ArrayDeque<>();
        Element root;

        private static final class Mutable {
            final String name;
            final Map<String, String> attrs;
            final StringBuilder text = new StringBuilder();
            final List<Element> children = new ArrayList<>();
            final int line, column;

            Mutable(String name, Map<String, String> attrs, int line, int column) {
                this.name = name;
                this.attrs = attrs;
                this.line = line;
                this.column = column;
            }
        }

        @Override
        public void setDocumentLocator(Locator locator) {
            this.locator = locator;
        }

        @Override
        public void startElement(String uri, String localName, String qName, Attributes atts) throws SAXException {
            Map<String, String> a = new LinkedHashMap<>();
            for (int i = 0; i < atts.getLength(); i++) a.put(atts.getQName(i), atts.getValue(i));
            if (open.size() >= MAX_DEPTH) {
                throw new SAXParseException("elements nested deeper than " + MAX_DEPTH + " levels", locator);
            }
            // the locator is where the start tag ends; a diagnostic points at the '<' opening it,
            // searched back from there (a tag may span lines)
            int line = locator == null ? 0 : locator.getLineNumber();
            int col = locator == null ? 0 : locator.getColumnNumber();
            for (int l = line, back = 0; l >= 1 && l <= lines.length && back < 16; l--, back++) {
                String text = lines[l - 1];
                int i = text.lastIndexOf("<" + qName, l == line ? Math.max(0, Math.min(text.length(), col - 1)) : text.length());
                if (i >= 0) {
                    line = l;
                    col = i + 1;
                    break;
                }
            }
            open.push(new Mutable(qName, a, line, col));
        }

        @Override
        public void characters(char[] ch, int start, int length) {
            if (!open.isEmpty()) open.peek().text.append(ch, start, length);
        }

        @Override
        public void endElement(String uri, String localName, String qName) {
            Mutable m = open.pop();
            Element e = new Element(m.name, Map.copyOf(m.attrs), m.text.toString().strip(), List.copyOf(m.children), m.line, m.column);
            if (open.isEmpty()) root = e;
            else open.peek().children.add(e);
        }
    }
}
