/* plot.c — hand-written SVG: time or GB/s against sequence length (prefill,
 * chunked) or batch (decode), one panel per suite, one line per device and
 * configuration; baselines dashed. */
#include "prof.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PANEL_W 1000
#define PANEL_H 340
#define PLOT_X0 80
#define PLOT_X1 660
#define PLOT_Y0 40  /* top, inside the panel */
#define PLOT_Y1 290 /* bottom */

typedef struct point {
    double x, y;
} point;

typedef struct series {
    char label[200];
    int dashed;
    point *pts;
    int n, cap;
} series;

typedef struct panel {
    const char *title, *x_label;
    series *lines;
    int n, cap;
} panel;

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

static void xml_text(FILE *out, const char *s)
{
    for (; *s; ++s) {
        if (*s == '&')
            fputs("&amp;", out);
        else if (*s == '<')
            fputs("&lt;", out);
        else if (*s == '>')
            fputs("&gt;", out);
        else
            fputc(*s, out);
    }
}

static series *series_for(panel *p, const char *label, int dashed)
{
    for (int i = 0; i < p->n; ++i)
        if (strcmp(p->lines[i].label, label) == 0)
            return &p->lines[i];
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->lines = prof_xrealloc(p->lines, sizeof *p->lines * (size_t)p->cap);
    }
    series *s = &p->lines[p->n++];
    memset(s, 0, sizeof *s);
    prof_strlcpy(s->label, label, sizeof s->label);
    s->dashed = dashed;
    return s;
}

static void add_point(series *s, double x, double y)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->pts = prof_xrealloc(s->pts, sizeof *s->pts * (size_t)s->cap);
    }
    /* kept sorted by x so the polyline reads left to right */
    int i = s->n++;
    while (i > 0 && s->pts[i - 1].x > x) {
        s->pts[i] = s->pts[i - 1];
        --i;
    }
    s->pts[i] = (point){x, y};
}

/* Which panel a row belongs to and where: suite prefill/chunked/decode, or the
 * baselines, whose row names start with "prefill " or "decode ". */
static int place_row(const char *suite, const prof_row *row, int *panel_index, int *dashed)
{
    *dashed = 0;
    if (strcmp(suite, "prefill") == 0)
        *panel_index = 0;
    else if (strcmp(suite, "chunked") == 0)
        *panel_index = 1;
    else if (strcmp(suite, "decode") == 0)
        *panel_index = 2;
    else if (strcmp(suite, "naive") == 0 || strcmp(suite, "gemm") == 0) {
        *dashed = 1;
        *panel_index = strncmp(row->name, "decode", 6) == 0 ? 2 : 0;
    } else
        return 0;
    return 1;
}

static double to_x(double v, double lo, double hi)
{
    if (hi <= lo)
        return (PLOT_X0 + PLOT_X1) / 2.0;
    return PLOT_X0 + (log2(v) - log2(lo)) / (log2(hi) - log2(lo)) * (PLOT_X1 - PLOT_X0);
}

static double to_y(double v, double lo, double hi, int logy)
{
    double a = logy ? log10(v) : v, b = logy ? log10(lo) : lo, c = logy ? log10(hi) : hi;
    if (c <= b)
        return (PLOT_Y0 + PLOT_Y1) / 2.0;
    return PLOT_Y1 - (a - b) / (c - b) * (PLOT_Y1 - PLOT_Y0);
}

static void draw_panel(const panel *p, int top, int logy, const char *y_label, FILE *out)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < p->n; ++i)
        for (int k = 0; k < p->lines[i].n; ++k) {
            point pt = p->lines[i].pts[k];
            xlo = fmin(xlo, pt.x);
            xhi = fmax(xhi, pt.x);
            ylo = fmin(ylo, pt.y);
            yhi = fmax(yhi, pt.y);
        }
    if (logy) { /* whole decades */
        ylo = pow(10, floor(log10(ylo)));
        yhi = pow(10, ceil(log10(yhi)));
        if (yhi <= ylo)
            yhi = ylo * 10;
    } else {
        ylo = 0;
        yhi = yhi > 0 ? yhi * 1.1 : 1;
    }
    fprintf(out, "<g transform=\"translate(0,%d)\">\n", top);
    fprintf(out, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">", PLOT_X0);
    xml_text(out, p->title);
    fprintf(out, "</text>\n");
    fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            PLOT_X0, PLOT_Y0, PLOT_X1 - PLOT_X0, PLOT_Y1 - PLOT_Y0);
    /* x ticks at every value that occurs: the suites use few, chosen sizes */
    double done[64];
    int n_done = 0;
    for (int i = 0; i < p->n; ++i)
        for (int k = 0; k < p->lines[i].n; ++k) {
            double v = p->lines[i].pts[k].x;
            int seen = 0;
            for (int j = 0; j < n_done; ++j)
                seen |= done[j] == v;
            if (seen || n_done == 64)
                continue;
            done[n_done++] = v;
            double x = to_x(v, xlo, xhi);
            fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x,
                    PLOT_Y0, x, PLOT_Y1);
            fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%.0f</text>\n",
                    x, PLOT_Y1 + 15, v);
        }
    fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">",
            (PLOT_X0 + PLOT_X1) / 2, PLOT_Y1 + 34);
    xml_text(out, p->x_label);
    fprintf(out, "</text>\n");
    /* log axis: every decade, with 2 and 5 between when there are few; linear: fifths */
    int decades = logy ? (int)lround(log10(yhi / ylo)) : 5;
    int per = logy && decades <= 2 ? 3 : 1;
    static const double steps[3] = {1, 2, 5};
    for (int k = 0; k <= decades * per; ++k) {
        double v = logy ? ylo * pow(10, k / per) * steps[k % per] : ylo + (yhi - ylo) * k / 5.0;
        if (v > yhi * 1.0001)
            break;
        double y = to_y(v, ylo, yhi, logy);
        char buf[32];
        prof_fmt_num(buf, sizeof buf, v);
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n", PLOT_X0,
                y, PLOT_X1, y);
        fprintf(out, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
                PLOT_X0 - 6, y + 4, buf);
    }
    fprintf(out, "<text x=\"18\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" "
                 "transform=\"rotate(-90 18 %d)\">%s</text>\n",
            (PLOT_Y0 + PLOT_Y1) / 2, (PLOT_Y0 + PLOT_Y1) / 2, y_label);
    for (int i = 0; i < p->n; ++i) {
        const series *s = &p->lines[i];
        const char *color = palette[i % (int)(sizeof palette / sizeof palette[0])];
        fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color,
                s->dashed ? " stroke-dasharray=\"6 4\"" : "");
        for (int k = 0; k < s->n; ++k)
            fprintf(out, "%s%.1f,%.1f", k ? " " : "", to_x(s->pts[k].x, xlo, xhi),
                    to_y(s->pts[k].y, ylo, yhi, logy));
        fprintf(out, "\"/>\n");
        for (int k = 0; k < s->n; ++k)
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                    to_x(s->pts[k].x, xlo, xhi), to_y(s->pts[k].y, ylo, yhi, logy), color);
        int ly = PLOT_Y0 + 6 + i * 16;
        fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                PLOT_X1 + 16, ly, PLOT_X1 + 40, ly, color,
                s->dashed ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"11\">", PLOT_X1 + 46, ly + 4);
        xml_text(out, s->label);
        fprintf(out, "</text>\n");
    }
    fprintf(out, "</g>\n");
}

int prof_plot_svg(prof_report *const *reports, int n_reports, const char *metric, FILE *out)
{
    int want_gbs = strcmp(metric, "gbs") == 0;
    if (!want_gbs && strcmp(metric, "time") != 0)
        return -1;
    panel panels[3] = {{"prefill (one-shot)", "sequence length (tokens)", NULL, 0, 0},
                       {"chunked prefill", "sequence length (tokens)", NULL, 0, 0},
                       {"decode at full window", "batch (sequences)", NULL, 0, 0}};
    int dev_no = 0;
    for (int r = 0; r < n_reports; ++r)
        for (int d = 0; d < reports[r]->n_devices; ++d, ++dev_no) {
            const prof_device *dev = &reports[r]->devices[d];
            for (int s = 0; s < dev->n_suites; ++s) {
                const prof_suite *suite = &dev->suites[s];
                for (int i = 0; i < suite->n_rows; ++i) {
                    const prof_row *row = &suite->rows[i];
                    int pi, dashed;
                    double y = want_gbs ? row->gbs : row->time_ms;
                    if (!place_row(suite->name, row, &pi, &dashed) ||
                        prof_row_status(row) != PROF_OK || !isfinite(y) || y <= 0)
                        continue;
                    double x = pi == 2 ? row->batch : row->n_tokens;
                    if (x <= 0)
                        continue;
                    char label[200];
                    snprintf(label, sizeof label, "%c %.24s %s%s%s%s", 'A' + dev_no % 26,
                             dev->name, row->shape, row->kv_dtype[0] ? " kv " : "",
                             row->kv_dtype, dashed ? (suite->name[0] == 'n' ? " naive" : " gemm") : "");
                    add_point(series_for(&panels[pi], label, dashed), x, y);
                }
            }
        }
    int used = 0;
    for (int i = 0; i < 3; ++i)
        used += panels[i].n > 0;
    int height = used ? used * PANEL_H : 60;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                 "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            PANEL_W, height);
    if (!used)
        fprintf(out, "<text x=\"20\" y=\"35\" font-size=\"14\">no ok rows to plot</text>\n");
    for (int i = 0, top = 0; i < 3; ++i) {
        if (!panels[i].n)
            continue;
        draw_panel(&panels[i], top, !want_gbs, want_gbs ? "GB/s" : "time per operation (ms)", out);
        top += PANEL_H;
        for (int k = 0; k < panels[i].n; ++k)
            free(panels[i].lines[k].pts);
        free(panels[i].lines);
    }
    fprintf(out, "</svg>\n");
    return ferror(out) ? -1 : 0;
}
