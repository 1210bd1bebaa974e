package org.kvmsim.notebook;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import org.commonmark.Extension;
import org.commonmark.ext.gfm.tables.TablesExtension;
import org.commonmark.parser.Parser;
import org.commonmark.renderer.html.HtmlRenderer;

/**
 * An executed notebook published: a standalone HTML page, or Markdown. The page needs nothing
 * from the network: its CSS is inline, charts are data: URIs (the kernel's SVG, else its PNG), no
 * script and no font is loaded. Markdown cells go through commonmark-java with GFM tables (raw
 * HTML passes, as Jupyter renders it); code cells show their kvmsim source highlighted by the
 * language's lexer ({@link Highlight}) with their prompt, then their outputs chosen as nbconvert's
 * HTML export chooses (text/html, then image/svg+xml, image/png, text/plain); a stream is
 * preformatted text, an error its traceback. Raw cells are left out, as nbconvert leaves out raw
 * cells not meant for HTML.
 */
public final class NotebookPage {

    private NotebookPage() {}

    private static final List<Extension> MARKDOWN = List.of(TablesExtension.create());

    static final String CSS = String.join("\n",
            "body{margin:0;background:#fff;color:#1b1f23;font:15px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
            "main{max-width:980px;margin:0 auto;padding:24px 20px 64px}",
            ".cell{margin:14px 0}",
            ".markdown table{border-collapse:collapse}.markdown th,.markdown td{border:1px solid #d0d7de;padding:4px 10px}",
            ".markdown code,pre{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:13px}",
            ".code .prompt{color:#6e7781;font:12px ui-monospace,'DejaVu Sans Mono',monospace;margin-bottom:2px}",
            "pre.source{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:10px 12px;overflow-x:auto;margin:0}",
            ".source .k{color:#8250df;font-weight:600}.source .m{color:#0550ae}.source .s{color:#0a3069}.source .c{color:#6e7781;font-style:italic}",
            ".output{margin:8px 0 0 0;overflow-x:auto}",
            ".output pre{margin:0;white-space:pre-wrap}",
            ".output.error pre{background:#fff0f0;border-left:3px solid #cf222e;padding:6px 10px}",
            ".output img{max-width:100%;height:auto}",
            "table.kvmsim{margin:4px 0}");

    /** The notebook as one HTML page titled {@code title}. */
    public static String html(JsonObject nb, String title) {
        Parser parser = Parser.builder().extensions(MARKDOWN).build();
        HtmlRenderer md = HtmlRenderer.builder().extensions(MARKDOWN).build();
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<meta name=\"generator\" content=\"kvmsim notebook run\">\n")
                .append("<title>").append(Highlight.esc(title)).append("</title>\n<style>\n").append(CSS).append("\n</style>\n")
                .append("</head>\n<body>\n<main>\n");
        for (JsonElement ce : nb.getAsJsonArray("cells")) {
            JsonObject cell = ce.getAsJsonObject();
            String type = Nbformat.string(cell, "cell_type");
            String source = Objects.toString(Nbformat.string(cell, "source"), "");
            if ("markdown".equals(type)) {
                b.append("<div class=\"cell markdown\">\n").append(md.render(parser.parse(source))).append("</div>\n");
            } else if ("code".equals(type)) {
                JsonElement count = cell.get("execution_count");
                String prompt = count == null || count.isJsonNull() ? " " : count.getAsString();
                b.append("<div class=\"cell code\">\n<div class=\"prompt\">In [").append(prompt).append("]:</div>\n")
                        .append("<pre class=\"source\"><code class=\"language-kvmsim\">").append(Highlight.html(source))
                        .append("</code></pre>\n");
                for (JsonElement oe : cell.getAsJsonArray("outputs")) b.append(htmlOutput(oe.getAsJsonObject()));
                b.append("</div>\n");
            }
        }
        return b.append("</main>\n</body>\n</html>\n").toString();
    }

    private static String htmlOutput(JsonObject o) {
        String type = Objects.toString(Nbformat.string(o, "output_type"), "");
        switch (type) {
            case "stream":
                return "<div class=\"output stream\"><pre>" + Highlight.esc(Objects.toString(Nbformat.string(o, "text"), "")) + "</pre></div>\n";
            case "error": {
                StringBuilder tb = new StringBuilder();
                if (o.get("traceback") instanceof JsonArray a) for (JsonElement l : a) tb.append(l.getAsString()).append('\n');
                return "<div class=\"output error\"><pre>" + Highlight.esc(ansiless(tb.toString())) + "</pre></div>\n";
            }
            case "display_data":
            case "execute_result": {
                JsonObject data = o.get("data") instanceof JsonObject d ? d : new JsonObject();
                String html = Nbformat.string(data, "text/html");
                if (html != null) return "<div class=\"output display\">" + html + "</div>\n";
                String svg = Nbformat.string(data, "image/svg+xml");
                if (svg != null) return "<div class=\"output display\"><img src=\"data:image/svg+xml;base64,"
                        + Base64.getEncoder().encodeToString(svg.getBytes(java.nio.charset.StandardCharsets.UTF_8)) + "\" alt=\"chart\"></div>\n";
                String png = Nbformat.string(data, "image/png");
                if (png != null) return "<div class=\"output display\"><img src=\"data:image/png;base64," + png.strip() + "\" alt=\"chart\"></div>\n";
                String text = Nbformat.string(data, "text/plain");
                return text == null ? "" : "<div class=\"output display\"><pre>" + Highlight.esc(text) + "</pre></div>\n";
            }
            default:
                return "";
        }
    }

    /** Terminal colour codes in a traceback (other kernels send them) are not for a page. */
    private static String ansiless(String s) {
        return s.replaceAll("\u001b\\[[0-9;]*[A-Za-z]", "");
    }

    /**
     * The notebook as Markdown: markdown cells as they are, code in ```kvmsim fences, streams and
     * errors in plain fences, tables as their HTML (Markdown renderers pass it), charts as PNG
     * files written to {@code files} and linked as {@code filesLink}/NAME.png.
     */
    public static String markdown(JsonObject nb, String title, Path files, String filesLink) throws IOException {
        StringBuilder b = new StringBuilder();
        JsonArray cells = nb.getAsJsonArray("cells");
        for (int i = 0; i < cells.size(); i++) {
            JsonObject cell = cells.get(i).getAsJsonObject();
            String type = Nbformat.string(cell, "cell_type");
            String source = Objects.toString(Nbformat.string(cell, "source"), "");
            if ("markdown".equals(type)) {
                b.append(source.strip()).append("\n\n");
            } else if ("code".equals(type)) {
                b.append("```kvmsim\n").append(source.endsWith("\n") ? source : source + "\n").append("```\n\n");
                JsonArray outputs = cell.getAsJsonArray("outputs");
                for (int k = 0; k < outputs.size(); k++) b.append(markdownOutput(outputs.get(k).getAsJsonObject(), i, k, files, filesLink));
            }
        }
        return b.toString().stripTrailing() + "\n";
    }

    private static String markdownOutput(JsonObject o, int cell, int k, Path files, String filesLink) throws IOException {
        String type = Objects.toString(Nbformat.string(o, "output_type"), "");
        if (type.equals("stream")) return fence(Objects.toString(Nbformat.string(o, "text"), ""));
        if (type.equals("error")) {
            StringBuilder tb = new StringBuilder();
            if (o.get("traceback") instanceof JsonArray a) for (JsonElement l : a) tb.append(l.getAsString()).append('\n');
            return fence(ansiless(tb.toString()));
        }
        JsonObject data = o.get("data") instanceof JsonObject d ? d : new JsonObject();
        String png = Nbformat.string(data, "image/png");
        if (png != null) {
            Files.createDirectories(files);
            String name = "cell" + cell + "-output" + k + ".png";
            Files.write(files.resolve(name), Base64.getMimeDecoder().decode(png));
            String alt = Objects.toString(Nbformat.string(data, "text/plain"), "chart").replace("[", "").replace("]", "");
            return "![" + alt + "](" + filesLink + "/" + name + ")\n\n";
        }
        String html = Nbformat.string(data, "text/html");
        if (html != null) return html + "\n\n";
        String text = Nbformat.string(data, "text/plain");
        return text == null ? "" : fence(text);
    }

    private static String fence(String text) {
        String fence = "```";
        while (text.contains(fence)) fence += "`";
        return fence + "\n" + (text.endsWith("\n") ? text : text + "\n") + fence + "\n\n";
    }
}
