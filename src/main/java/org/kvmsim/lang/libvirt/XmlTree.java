package org.kvmsim.lang.libvirt;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
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
        Element root;
        try {
            root = parse(new ByteArrayInputStream(bytes));
        } catch (IOException e) {
            throw new BadXml("cannot read it: " + reason(e), 0, 0);
        }
        String[] lines = new String(bytes, java.nio.charset.StandardCharsets.UTF_8).split("\\r?\\n|\\r", -1);
        return atTagStart(root, lines);
    }

    /**
     * SAX places an element where its start tag ends; a diagnostic should point at the '<' that
     * opens it, which is on the same line for every tag that fits on one.
     */
    private static Element atTagStart(Element e, String[] lines) {
        int col = e.column();
        if (e.line() >= 1 && e.line() <= lines.length) {
            String l = lines[e.line() - 1];
            int i = l.lastIndexOf("<" + e.name(), Math.max(0, Math.min(l.length(), col - 1)));
            if (i >= 0) col = i + 1;
        }
        List<Element> kids = new ArrayList<>();
        for (Element c : e.children()) kids.add(atTagStart(c, lines));
        return new Element(e.name(), e.attrs(), e.text(), List.copyOf(kids), e.line(), col);
    }

    private static String reason(IOException e) {
        return e instanceof NoSuchFileException ? "no such file" : String.valueOf(e.getMessage());
    }

    static Element parse(InputStream in) throws BadXml, IOException {
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
                parser.setProperty("http://apache.org/xml/properties/locale", java.util.Locale.ROOT);
            } catch (SAXException e) {
                // a parser without the property speaks the JVM's language
            }
        } catch (ParserConfigurationException | SAXException e) {
            throw new IllegalStateException("the JDK's XML parser cannot be hardened", e);
        }
        Builder b = new Builder();
        try {
            parser.parse(in, b);
        } catch (SAXParseException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("DOCTYPE")) m = "a DOCTYPE is not allowed (libvirt's domain files have none; entities are refused)";
            throw new BadXml(m, Math.max(0, e.getLineNumber()), Math.max(0, e.getColumnNumber()));
        } catch (SAXException e) {
            throw new BadXml(String.valueOf(e.getMessage()), 0, 0);
        }
        return b.root;
    }

    private static final class Builder extends DefaultHandler {
        private Locator locator;
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
        public void startElement(String uri, String localName, String qName, Attributes atts) {
            Map<String, String> a = new LinkedHashMap<>();
            for (int i = 0; i < atts.getLength(); i++) a.put(atts.getQName(i), atts.getValue(i));
            // the locator is at the end of the start tag: good enough for the line; the column
            // is where the tag ends
            int line = locator == null ? 0 : locator.getLineNumber();
            int col = locator == null ? 0 : locator.getColumnNumber();
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
