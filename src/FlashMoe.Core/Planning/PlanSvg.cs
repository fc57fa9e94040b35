using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Xml;
using FlashMoe.Diagnostics;

namespace FlashMoe.Planning;

/// <summary>
/// Draws a resolved profile's memory plan as an SVG picture: one horizontal bar per device (host RAM, then each GPU),
/// split into stacked segments (weights resident or in the page cache, the repacked copy, KV cache, compute and output
/// buffers, runtime overhead), with the reserve hatched at the end, the usable limit as a line, how much is free or
/// over, and the advice IDs under the bar they concern; a legend below. Fixed width, readable font sizes, an
/// accessible <c>&lt;title&gt;</c>/<c>&lt;desc&gt;</c>. Pure and deterministic (invariant culture, plan order, no
/// time stamps), so the build check can rewrite it only when it changed and tests can compare snapshots.
/// </summary>
public static class PlanSvg
{
    /// <summary>Width of the picture in pixels (fits a README column and a browser window).</summary>
    public const int Width = 960;

    private const int Margin = 24;
    private const int BarWidth = Width - 2 * Margin;
    private const int BarHeight = 34;
    private const int BadgeHeight = 22;
    private const int BadgeStep = 28;
    private const string Font = "'Segoe UI', 'Helvetica Neue', Arial, 'DejaVu Sans', sans-serif";
    private const string TextColour = "#1f2328";
    private const string MutedColour = "#57606a";
    private const string LimitColour = "#cf222e";
    private const string GoodColour = "#1a7f37";
    private const string UnavailableFill = "#d0d7de";

    /// <summary>The kinds of memory a bar is split into, in the order they are stacked.</summary>
    private enum Segment
    {
        ResidentWeights,
        PageCacheWeights,
        RepackedCopy,
        KvCache,
        Compute,
        RuntimeOverhead,
    }

    private static readonly (Segment Kind, string Label, string Fill, string Ink)[] Segments =
    {
        (Segment.ResidentWeights, "weights, resident", "#4e79a7", "#ffffff"),
        (Segment.PageCacheWeights, "weights in the page cache (mmap)", "#a0cbe8", TextColour),
        (Segment.RepackedCopy, "repacked copy (CPU_REPACK)", "#f28e2b", TextColour),
        (Segment.KvCache, "KV cache", "#59a14f", "#ffffff"),
        (Segment.Compute, "compute and output buffers", "#b07aa1", "#ffffff"),
        (Segment.RuntimeOverhead, "runtime overhead", "#9c755f", "#ffffff"),
    };

    /// <summary>The picture of <paramref name="resolved"/>'s plan, with its advice on the bars they concern.</summary>
    public static string Render(ResolvedProfile resolved)
    {
        if (resolved is null) throw new ArgumentNullException(nameof(resolved));
        var bars = Bars(resolved);
        var header = Header(resolved);
        var legend = LegendItems(bars);

        var y = 92;
        var layouts = new List<(Bar Bar, int Top)>();
        foreach (var bar in bars)
        {
            layouts.Add((bar, y));
            y += BlockHeight(bar);
        }
        var legendTop = y + 4;
        var legendRows = LayoutLegend(legend, legendTop, out var legendBottom);
        var height = legendBottom + Margin;

        var text = new StringBuilder();
        var settings = new XmlWriterSettings { OmitXmlDeclaration = true, Indent = true, IndentChars = "  ", NewLineChars = "\n", NewLineHandling = NewLineHandling.Replace };
        using (var xml = XmlWriter.Create(new StringWriter(text, CultureInfo.InvariantCulture), settings))
        {
            const string ns = "http://www.w3.org/2000/svg";
            xml.WriteStartElement("svg", ns);
            Attr(xml, "width", Width);
            Attr(xml, "height", height);
            xml.WriteAttributeString("viewBox", "0 0 " + Num(Width) + " " + Num(height));
            xml.WriteAttributeString("role", "img");
            xml.WriteAttributeString("aria-labelledby", "plan-title plan-desc");
            xml.WriteAttributeString("font-family", Font);

            xml.WriteStartElement("title", ns);
            xml.WriteAttributeString("id", "plan-title");
            xml.WriteString(header.Title);
            xml.WriteEndElement();
            xml.WriteStartElement("desc", ns);
            xml.WriteAttributeString("id", "plan-desc");
            xml.WriteString(Description(resolved, bars));
            xml.WriteEndElement();

            WriteDefs(xml, ns);
            Rect(xml, ns, 0, 0, Width, height, "#ffffff", null);

            TextAt(xml, ns, Margin, 32, header.Title, 20, TextColour, bold: true);
            TextAt(xml, ns, Margin, 56, header.Model, 13, MutedColour);
            TextAt(xml, ns, Margin, 76, header.Options, 13, MutedColour);

            foreach (var (bar, top) in layouts) WriteBar(xml, ns, bar, top);
            WriteLegend(xml, ns, legendRows);
            xml.WriteEndElement();
        }
        return text.ToString().Replace("\r\n", "\n") + "\n";
    }

    // ---------------------------------------------------------------- model of the picture

    /// <summary>One stacked segment of a bar.</summary>
    private sealed class Part
    {
        public Part(Segment kind, long bytes)
        {
            Kind = kind;
            Bytes = bytes;
        }

        public Segment Kind { get; }
        public long Bytes { get; }

        public void Deconstruct(out Segment kind, out long bytes)
        {
            kind = Kind;
            bytes = Bytes;
        }
    }

    /// <summary>One legend entry and, once laid out, where it is drawn.</summary>
    private sealed class LegendItem
    {
        public LegendItem(string label, string kind, string fill)
        {
            Label = label;
            Kind = kind;
            Fill = fill;
        }

        public string Label { get; }
        public string Kind { get; }
        public string Fill { get; }
        public double X { get; set; }
        public int Y { get; set; }
    }

    private sealed class Bar
    {
        public string Label = string.Empty;
        public long Capacity;
        public long Reserve;
        public long Usable;
        public string UsableText = string.Empty;
        // Parts and legend entries are classes, not value tuples: collections and LINQ over value tuples are not
        // precompiled (ReadyToRun) and would be JIT-compiled on every build's first check, which draws these pictures.
        public readonly List<Part> Parts = new();
        public readonly List<Advice> Advice = new();
        public long Used
        {
            get
            {
                long used = 0;
                foreach (var part in Parts) used += part.Bytes;
                return used;
            }
        }
        public long Free => Usable - Used;
        /// <summary>Memory below the reserve that is still not usable: in use by other processes, or above a container limit.</summary>
        public long Unavailable => Math.Max(0, Capacity - Reserve - Usable);
        public string? Ratio;
        public string? OverConsequence;
    }

    private static List<Bar> Bars(ResolvedProfile resolved)
    {
        var plan = resolved.Plan;
        var h = plan.Host;
        var bars = new List<Bar>();

        var host = new Bar
        {
            Label = "Host RAM (CPU) · " + Gib(h.TotalRamBytes) + " installed",
            Capacity = h.TotalRamBytes,
            Reserve = Math.Min(h.ReserveBytes, Math.Max(0, h.TotalRamBytes)),
            Usable = h.UsableBytes,
            UsableText = "usable " + Gib(h.UsableBytes) + (h.MemoryLimitBytes is { } limit && limit > 0 && limit <= h.UsableBytes ? " (memory limit)" : string.Empty),
            Ratio = double.IsInfinity(h.FootprintRatio) || double.IsNaN(h.FootprintRatio) ? null : h.FootprintRatio.ToString("0.00", CultureInfo.InvariantCulture) + " ×",
            OverConsequence = h.UseMmap ? "pages are evicted and re-read (thrashing)" : "the load is OOM-killed",
        };
        if (h.UseMmap)
        {
            host.Parts.Add(new Part(Segment.PageCacheWeights, h.FileBackedBytes));
        }
        else
        {
            host.Parts.Add(new Part(Segment.ResidentWeights, h.CpuWeightBytes - h.RepackedBytes));
        }
        host.Parts.Add(new Part(Segment.RepackedCopy, h.RepackedBytes));
        host.Parts.Add(new Part(Segment.KvCache, h.KvCacheBytes));
        host.Parts.Add(new Part(Segment.Compute, h.ComputeResidentBytes + h.OutputBytes));
        host.Parts.Add(new Part(Segment.RuntimeOverhead, h.RuntimeOverheadBytes));
        bars.Add(host);

        foreach (var d in plan.Devices.Where(d => !d.Device.IsCpu))
        {
            var usable = Math.Max(0, d.CapacityBytes - d.ReserveBytes);
            var gpu = new Bar
            {
                Label = d.Device + " " + Shorten(d.Name, 48) + " · " + Gib(d.CapacityBytes) + " VRAM · " + d.LayerCount.ToString(CultureInfo.InvariantCulture)
                        + (d.HoldsOutputLayer ? " layers + output" : " layers"),
                Capacity = d.CapacityBytes,
                Reserve = Math.Min(d.ReserveBytes, d.CapacityBytes),
                Usable = usable,
                UsableText = "usable " + Gib(usable),
                OverConsequence = "allocation fails at load",
            };
            gpu.Parts.Add(new Part(Segment.ResidentWeights, d.WeightBytes));
            gpu.Parts.Add(new Part(Segment.KvCache, d.KvCacheBytes));
            gpu.Parts.Add(new Part(Segment.Compute, d.ComputeBytes + d.OutputBytes));
            bars.Add(gpu);
        }

        // Each piece of advice goes under the bar it concerns: an overcommitted GPU (one FM1004 per such GPU, in
        // device order) or unused GPUs on the GPU bars, everything else (mmap, RAM, mlock, KV, overrides) on host RAM.
        var gpuBars = bars.Skip(1).ToList();
        var gpuDevices = plan.Devices.Where(d => !d.Device.IsCpu).ToList();
        var overcommitted = gpuBars.Where((bar, i) => !gpuDevices[i].Fits).ToList();
        var nextOvercommitted = 0;
        foreach (var advice in resolved.Advice)
        {
            var descriptor = advice.Diagnostic.Descriptor;
            if (descriptor == DiagnosticCatalog.GpuOvercommitted && nextOvercommitted < overcommitted.Count)
            {
                overcommitted[nextOvercommitted++].Advice.Add(advice);
            }
            else if (descriptor == DiagnosticCatalog.GpuUnused && gpuBars.Count > 0)
            {
                foreach (var bar in gpuBars) bar.Advice.Add(advice);
            }
            else
            {
                host.Advice.Add(advice);
            }
        }
        return bars;
    }

    private static (string Title, string Model, string Options) Header(ResolvedProfile resolved)
    {
        var m = resolved.Model;
        var o = resolved.Options;
        var title = "Memory plan · " + resolved.Profile.Name;
        var model = new StringBuilder();
        model.Append(Shorten(m.Name ?? "(unnamed model)", 60)).Append(" · ").Append(Gib(m.FileSizeBytes))
             .Append(", ").Append(m.BlockCount.ToString(CultureInfo.InvariantCulture)).Append(" layers");
        if (m.IsMoe) model.Append(", ").Append(m.ExpertCount.ToString(CultureInfo.InvariantCulture)).Append(" experts (")
                          .Append(m.ExpertUsedCount.ToString(CultureInfo.InvariantCulture)).Append(" used)");
        model.Append(m.IsDeclared ? " · declared facts (no file read)" : " · from the GGUF header");
        model.Append(" · ").Append(resolved.Host.IsDetected ? "detected host" : "declared hardware");

        var options = new StringBuilder();
        options.Append("mmap ").Append(o.UseMmap ? "on" : "off");
        if (o.UseMlock) options.Append(" · mlock on");
        options.Append(" · ").Append(resolved.Plan.OffloadedLayerCount.ToString(CultureInfo.InvariantCulture)).Append('/')
               .Append((m.BlockCount + 1).ToString(CultureInfo.InvariantCulture)).Append(" layers on GPU");
        if (o.TensorOverrides.Count > 0) options.Append(" · ").Append(o.TensorOverrides.Count.ToString(CultureInfo.InvariantCulture)).Append(" tensor override(s)");
        options.Append(" · context ").Append(o.ContextSize.ToString(CultureInfo.InvariantCulture))
               .Append(" · KV ").Append(Invariant.Lower(o.TypeK)).Append('/').Append(Invariant.Lower(o.TypeV))
               .Append(" · ").Append(o.Threads.ToString(CultureInfo.InvariantCulture)).Append(" threads");
        return (title, model.ToString(), options.ToString());
    }

    private static string Description(ResolvedProfile resolved, List<Bar> bars)
    {
        var sb = new StringBuilder();
        sb.Append("Memory plan of profile ").Append(resolved.Profile.Name).Append(", one bar per device.");
        foreach (var bar in bars)
        {
            sb.Append(' ').Append(bar.Label).Append(": ").Append(Gib(bar.Used)).Append(" used of ").Append(Gib(bar.Usable)).Append(" usable, ")
              .Append(Status(bar)).Append('.');
            if (bar.Advice.Count > 0) sb.Append(" Advice: ").Append(string.Join(", ", bar.Advice.Select(a => a.Id))).Append('.');
        }
        return sb.ToString();
    }

    private static string Status(Bar bar) => bar.Free >= 0
        ? Gib(bar.Free) + " free below the limit" + (bar.Ratio is null ? string.Empty : " (" + bar.Ratio + ")")
        : "over the limit by " + Gib(-bar.Free) + (bar.Ratio is null ? string.Empty : " (" + bar.Ratio + ")") + ": " + bar.OverConsequence;

    // ---------------------------------------------------------------- drawing

    private static int BlockHeight(Bar bar) => 100 + (Breakdown(bar).Count - 1) * 17 + bar.Advice.Count * BadgeStep + 18;

    /// <summary>Every segment in figures (thin ones cannot carry their own label), wrapped to the picture's width.</summary>
    private static List<string> Breakdown(Bar bar)
    {
        var parts = bar.Parts.Where(p => p.Bytes > 0).Select(p => LabelOf(p.Kind) + " " + Gib(p.Bytes)).ToList();
        if (bar.Unavailable > 0) parts.Add("not available " + Gib(bar.Unavailable));
        if (bar.Reserve > 0) parts.Add("reserve " + Gib(bar.Reserve));
        var lines = new List<string>();
        var current = "used " + Gib(bar.Used) + ":";
        var first = true;
        foreach (var part in parts)
        {
            var next = current + (first ? " " : " · ") + part;
            if (!first && TypicalTextWidth(next, 12) > BarWidth)
            {
                lines.Add(current + " ·");
                next = "    " + part;
            }
            current = next;
            first = false;
        }
        lines.Add(current);
        return lines;
    }

    private static void WriteBar(XmlWriter xml, string ns, Bar bar, int top)
    {
        // The scale of each bar is its own device: the whole bar is the capacity, or what is needed when that is more.
        var extent = Math.Max(1, Math.Max(bar.Capacity, bar.Used + bar.Reserve));
        double X(long bytes) => Margin + BarWidth * (double)Math.Max(0, bytes) / extent;
        var barTop = top + 26;

        xml.WriteStartElement("g", ns);
        xml.WriteAttributeString("class", "device");
        TextAt(xml, ns, Margin, top + 16, bar.Label, 15, TextColour, bold: true);
        TextAt(xml, ns, Width - Margin, top + 16, Status(bar), 14, bar.Free >= 0 ? GoodColour : LimitColour, bold: true, anchor: "end");

        // Background (free memory), then the reserve: at the end of the capacity, or right after what is used when
        // that already reaches into it (what must then fit is used + reserve). Then the stacked segments.
        Rect(xml, ns, Margin, barTop, BarWidth, BarHeight, "#f6f8fa", "#8c959f", "free");
        if (bar.Reserve > 0)
        {
            var start = Math.Max(bar.Capacity - bar.Reserve, bar.Used);
            Rect(xml, ns, X(start), barTop, X(start + bar.Reserve) - X(start), BarHeight, "url(#reserve)", "#8c959f", "reserve kept free: " + Gib(bar.Reserve));
        }
        if (bar.Unavailable > 0)
        {
            Rect(xml, ns, X(bar.Usable), barTop, X(bar.Usable + bar.Unavailable) - X(bar.Usable), BarHeight, UnavailableFill, "#8c959f",
                "not available: " + Gib(bar.Unavailable));
        }
        long offset = 0;
        foreach (var (kind, bytes) in bar.Parts)
        {
            if (bytes <= 0) continue;
            var style = Segments[SegmentRow(kind)];
            var x = X(offset);
            var w = X(offset + bytes) - x;
            Rect(xml, ns, x, barTop, w, BarHeight, style.Fill, "#ffffff", style.Label + ": " + Gib(bytes));
            var label = style.Label + " " + Gib(bytes);
            if (TextWidth(label, 12) + 10 <= w) TextAt(xml, ns, x + 6, barTop + BarHeight / 2 + 4, label, 12, style.Ink);
            else if (TextWidth(Gib(bytes), 12) + 8 <= w) TextAt(xml, ns, x + 4, barTop + BarHeight / 2 + 4, Gib(bytes), 12, style.Ink);
            offset += bytes;
        }
        var needed = bar.Used + bar.Reserve;
        if (bar.Capacity > 0 && needed > bar.Capacity)
        {
            // Needed beyond the device's memory: shade it, and mark where the memory ends.
            var edge = X(bar.Capacity);
            Rect(xml, ns, edge, barTop + BarHeight + 2, X(needed) - edge, 5, LimitColour, null, "beyond the device's memory: " + Gib(needed - bar.Capacity));
            Line(xml, ns, edge, barTop - 4, edge, barTop + BarHeight + 4, TextColour, 2, dashed: false);
            TextAt(xml, ns, Width - Margin, barTop + BarHeight + 20, "needs " + Gib(needed) + " with the reserve; has " + Gib(bar.Capacity), 12, LimitColour, anchor: "end");
        }

        // The limit: usable memory (capacity minus reserve, or a container limit).
        var limitX = X(bar.Usable);
        Line(xml, ns, limitX, barTop - 6, limitX, barTop + BarHeight + 6, LimitColour, 2.5, dashed: true);
        var limitLabel = "limit: " + bar.UsableText;
        // Keep the limit's label clear of the "0" at the start of the scale.
        if (limitX > Margin + 180) TextAt(xml, ns, limitX - 5, barTop + BarHeight + 20, limitLabel, 12, LimitColour, anchor: "end");
        else TextAt(xml, ns, limitX + 5, barTop + BarHeight + 20, limitLabel, 12, LimitColour);
        TextAt(xml, ns, Margin, barTop + BarHeight + 20, "0", 12, MutedColour);

        var lineY = barTop + BarHeight + 40;
        foreach (var line in Breakdown(bar))
        {
            TextAt(xml, ns, Margin, lineY, line, 12, MutedColour);
            lineY += 17;
        }

        var badgeTop = lineY - 5;
        foreach (var advice in bar.Advice)
        {
            WriteBadge(xml, ns, advice, badgeTop);
            badgeTop += BadgeStep;
        }
        xml.WriteEndElement();
    }

    private static void WriteBadge(XmlWriter xml, string ns, Advice advice, int top)
    {
        var d = advice.Diagnostic;
        var (fill, stroke, word) = d.Severity switch
        {
            FlashMoeSeverity.Error => ("#ffebe9", "#cf222e", "error"),
            FlashMoeSeverity.Warning => ("#fff8c5", "#9a6700", "warning"),
            _ => ("#ddf4ff", "#0969da", "info"),
        };
        var title = Shorten(d.Descriptor.Title, 90);
        var rest = " " + word + ": " + title;
        var width = Math.Min(BarWidth, 16 + TypicalTextWidth(d.Id, 13, bold: true) + TypicalTextWidth(rest, 13));
        xml.WriteStartElement("g", ns);
        xml.WriteAttributeString("class", "advice");
        xml.WriteStartElement("title", ns);
        xml.WriteString(d.Id + " " + word + ": " + d.Message);
        xml.WriteEndElement();
        xml.WriteStartElement("rect", ns);
        Attr(xml, "x", Margin);
        Attr(xml, "y", top);
        Attr(xml, "width", width);
        Attr(xml, "height", BadgeHeight);
        Attr(xml, "rx", 4);
        xml.WriteAttributeString("fill", fill);
        xml.WriteAttributeString("stroke", stroke);
        xml.WriteEndElement();
        xml.WriteStartElement("text", ns);
        Attr(xml, "x", Margin + 8);
        Attr(xml, "y", top + 15.5);
        Attr(xml, "font-size", 13);
        xml.WriteAttributeString("fill", TextColour);
        xml.WriteStartElement("tspan", ns);
        xml.WriteAttributeString("font-weight", "bold");
        xml.WriteAttributeString("fill", stroke);
        xml.WriteString(d.Id);
        xml.WriteEndElement();
        xml.WriteString(rest);
        xml.WriteEndElement();
        xml.WriteEndElement();
    }

    private static string LabelOf(Segment kind) => Segments[SegmentRow(kind)].Label;

    private static int SegmentRow(Segment kind)
    {
        for (var i = 0; i < Segments.Length; i++)
        {
            if (Segments[i].Kind == kind) return i;
        }
        throw new InvalidOperationException("A segment without a row in the table: " + kind + ".");
    }

    private static List<LegendItem> LegendItems(List<Bar> bars)
    {
        // Only what the picture shows, in stacking order, then the reserve and the limit.
        var items = new List<LegendItem>();
        foreach (var segment in Segments)
        {
            var kind = segment.Kind;
            if (bars.Any(b => b.Parts.Any(p => p.Bytes > 0 && p.Kind == kind))) items.Add(new LegendItem(segment.Label, "swatch", segment.Fill));
        }
        if (bars.Any(b => b.Unavailable > 0)) items.Add(new LegendItem("not available (in use by other processes, or above a memory limit)", "swatch", UnavailableFill));
        items.Add(new LegendItem("reserve kept free (OS, driver)", "swatch", "url(#reserve)"));
        items.Add(new LegendItem("limit: usable memory", "limit", LimitColour));
        return items;
    }

    /// <summary>Places the legend's items in rows (sets each one's position); returns them.</summary>
    private static List<LegendItem> LayoutLegend(List<LegendItem> items, int top, out int bottom)
    {
        var y = top + 14;
        double x = Margin;
        foreach (var item in items)
        {
            var width = 22 + TypicalTextWidth(item.Label, 12) + 24;
            if (x + width > Width - Margin && x > Margin)
            {
                x = Margin;
                y += 22;
            }
            item.X = x;
            item.Y = y;
            x += width;
        }
        bottom = y + 8;
        return items;
    }

    private static void WriteLegend(XmlWriter xml, string ns, List<LegendItem> items)
    {
        xml.WriteStartElement("g", ns);
        xml.WriteAttributeString("class", "legend");
        foreach (var item in items)
        {
            var (label, kind, fill, x, y) = (item.Label, item.Kind, item.Fill, item.X, item.Y);
            if (kind == "limit") Line(xml, ns, x + 7, y - 12, x + 7, y + 3, fill, 2.5, dashed: true);
            else Rect(xml, ns, x, y - 11, 14, 14, fill, "#8c959f", null);
            TextAt(xml, ns, x + 22, y, label, 12, TextColour);
        }
        xml.WriteEndElement();
    }

    private static void WriteDefs(XmlWriter xml, string ns)
    {
        xml.WriteStartElement("defs", ns);
        xml.WriteStartElement("pattern", ns);
        xml.WriteAttributeString("id", "reserve");
        xml.WriteAttributeString("patternUnits", "userSpaceOnUse");
        Attr(xml, "width", 8);
        Attr(xml, "height", 8);
        xml.WriteAttributeString("patternTransform", "rotate(45)");
        Rect(xml, ns, 0, 0, 8, 8, "#eaeef2", null);
        Line(xml, ns, 0, 0, 0, 8, "#8c959f", 3, dashed: false);
        xml.WriteEndElement();
        xml.WriteEndElement();
    }

    // ---------------------------------------------------------------- primitives

    private static void Rect(XmlWriter xml, string ns, double x, double y, double width, double height, string fill, string? stroke, string? title = null,
        double opacity = 1)
    {
        xml.WriteStartElement("rect", ns);
        Attr(xml, "x", x);
        Attr(xml, "y", y);
        Attr(xml, "width", Math.Max(0, width));
        Attr(xml, "height", Math.Max(0, height));
        xml.WriteAttributeString("fill", fill);
        if (opacity < 1) Attr(xml, "fill-opacity", opacity);
        if (stroke is not null)
        {
            xml.WriteAttributeString("stroke", stroke);
            xml.WriteAttributeString("stroke-width", "1");
        }
        if (title is not null)
        {
            xml.WriteStartElement("title", ns);
            xml.WriteString(title);
            xml.WriteEndElement();
        }
        xml.WriteEndElement();
    }

    private static void Line(XmlWriter xml, string ns, double x1, double y1, double x2, double y2, string stroke, double width, bool dashed)
    {
        xml.WriteStartElement("line", ns);
        Attr(xml, "x1", x1);
        Attr(xml, "y1", y1);
        Attr(xml, "x2", x2);
        Attr(xml, "y2", y2);
        xml.WriteAttributeString("stroke", stroke);
        Attr(xml, "stroke-width", width);
        if (dashed) xml.WriteAttributeString("stroke-dasharray", "5 3");
        xml.WriteEndElement();
    }

    private static void TextAt(XmlWriter xml, string ns, double x, double y, string text, int size, string fill, bool bold = false, string? anchor = null)
    {
        xml.WriteStartElement("text", ns);
        Attr(xml, "x", x);
        Attr(xml, "y", y);
        Attr(xml, "font-size", size);
        xml.WriteAttributeString("fill", fill);
        if (bold) xml.WriteAttributeString("font-weight", "bold");
        if (anchor is not null) xml.WriteAttributeString("text-anchor", anchor);
        xml.WriteString(text);
        xml.WriteEndElement();
    }

    private static void Attr(XmlWriter xml, string name, double value) => xml.WriteAttributeString(name, Num(value));

    private static string Num(double value) => Math.Round(value, 1).ToString("0.#", CultureInfo.InvariantCulture);

    // Estimated widths of sans-serif text: conservative (wide fonts such as DejaVu Sans) where a label must fit inside
    // a segment, closer to the average glyph (≈ 0.52 em) where it only sizes a badge or spaces the legend.
    private static double TextWidth(string text, int size, bool bold = false) => text.Length * size * (bold ? 0.64 : 0.58);

    private static double TypicalTextWidth(string text, int size, bool bold = false) => text.Length * size * (bold ? 0.6 : 0.53);

    private static string Gib(long bytes) => Units.FormatSize(bytes, "0.0", "0");

    private static string Shorten(string text, int length) => text.Length <= length ? text : text.Substring(0, length - 1) + "…";
}
