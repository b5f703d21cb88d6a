/* plot.c — hand-written SVG: time or GB/s against sequence length (prefill,
 * chunked) or batch (decode, and the whole model's decode step of the e2e suite),
 * one panel per suite, one line per device and configuration; baselines dashed. */
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
    } else if (strcmp(suite, "e2e") == 0 && strncmp(row->name, "decode", 6) == 0)
        *panel_index = 3;
    else
        return 0;
    return 1;
}

/* the distinct x values of a panel, ascending; their count */
static int x_values(const panel *p, double *xs, int max)
{
    int n = 0;
    for (int i = 0; i < p->n; ++i)
        for (int k = 0; k < p->lines[i].n; ++k) {
            double v = p->lines[i].pts[k].x;
            int j = n;
            while (j > 0 && xs[j - 1] > v)
                --j;
            if ((j > 0 && xs[j - 1] == v) || n == max)
                continue;
            memmove(&xs[j + 1], &xs[j], sizeof *xs * (size_t)(n - j));
            xs[j] = v;
            ++n;
        }
    return n;
}

static double to_y(double v, double lo, double hi, int logy)
{
    double a = logy ? log10(v) : v, b = logy ? log10(lo) : lo, c = logy ? log10(hi) : hi;
    if (c <= b)
        return (PLOT_Y0 + PLOT_Y1) / 2.0;
    return PLOT_Y1 - (a - b) / (c - b) * (PLOT_Y1 - PLOT_Y0);
}

/* Lines on a log2 x axis; grouped bars, one group per x value, when some series
 * has a single point (a quick run's panels), where a line would be a lone dot. */
static void draw_panel(const panel *p, int top, int logy, const char *y_label, FILE *out)
{
    double xs[64], ylo = INFINITY, yhi = -INFINITY;
    int n_x = x_values(p, xs, 64), bars = 0;
    for (int i = 0; i < p->n; ++i) {
        bars |= p->lines[i].n == 1;
        for (int k = 0; k < p->lines[i].n; ++k) {
            ylo = fmin(ylo, p->lines[i].pts[k].y);
            yhi = fmax(yhi, p->lines[i].pts[k].y);
        }
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
    /* x position of each value: evenly spaced groups for bars, log2 for lines */
    double group_w = (double)(PLOT_X1 - PLOT_X0) / n_x, xpos[64];
    for (int j = 0; j < n_x; ++j)
        xpos[j] = bars || n_x == 1
                      ? PLOT_X0 + group_w * (j + 0.5)
                      : PLOT_X0 + (PLOT_X1 - PLOT_X0) * (log2(xs[j]) - log2(xs[0])) /
                                      (log2(xs[n_x - 1]) - log2(xs[0]));
    fprintf(out, "<g transform=\"translate(0,%d)\">\n", top);
    fprintf(out, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">", PLOT_X0);
    xml_text(out, p->title);
    fprintf(out, "</text>\n");
    fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            PLOT_X0, PLOT_Y0, PLOT_X1 - PLOT_X0, PLOT_Y1 - PLOT_Y0);
    /* x ticks at every value that occurs: the suites use few, chosen sizes */
    for (int j = 0; j < n_x; ++j) {
        if (!bars)
            fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n",
                    xpos[j], PLOT_Y0, xpos[j], PLOT_Y1);
        fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%.0f</text>\n",
                xpos[j], PLOT_Y1 + 15, xs[j]);
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
    double bar_w = fmin(group_w * 0.8 / p->n, 60); /* a group of bars is centred on its x */
    for (int i = 0; i < p->n; ++i) {
        const series *s = &p->lines[i];
        const char *color = palette[i % (int)(sizeof palette / sizeof palette[0])];
        /* baselines: dashed lines, or pale bars with a dashed edge */
        const char *dash = s->dashed ? " stroke-dasharray=\"6 4\"" : "";
        const char *opacity = s->dashed ? "0.3" : "0.9";
        /* pass 0: the polyline (lines) or the bars; pass 1: the points of a line */
        for (int pass = 0; pass < 2 - bars; ++pass) {
            if (pass == 0 && !bars)
                fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                        color, dash);
            for (int k = 0; k < s->n; ++k) {
                int j = 0;
                while (j < n_x && xs[j] != s->pts[k].x)
                    ++j;
                if (j == n_x) /* past the 64 sizes a panel shows */
                    continue;
                double y = to_y(s->pts[k].y, ylo, yhi, logy);
                if (bars)
                    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                 "fill=\"%s\" fill-opacity=\"%s\" stroke=\"%s\"%s/>\n",
                            xpos[j] + bar_w * (i - 0.5 * p->n), y, bar_w, PLOT_Y1 - y, color,
                            opacity, color, dash);
                else if (pass == 0)
                    fprintf(out, "%s%.1f,%.1f", k ? " " : "", xpos[j], y);
                else
                    fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", xpos[j],
                            y, color);
            }
            if (pass == 0 && !bars)
                fprintf(out, "\"/>\n");
        }
        int ly = PLOT_Y0 + 6 + i * 16;
        fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                     "stroke-width=\"%d\" stroke-opacity=\"%s\"%s/>\n",
                PLOT_X1 + 16, ly, PLOT_X1 + 40, ly, color, bars ? 8 : 2, bars ? opacity : "1",
                bars ? "" : dash);
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
    enum { N_PANELS = 4 };
    panel panels[N_PANELS] = {{"prefill (one-shot)", "sequence length (tokens)", NULL, 0, 0},
                              {"chunked prefill", "sequence length (tokens)", NULL, 0, 0},
                              {"decode at full window", "batch (sequences)", NULL, 0, 0},
                              {"whole-model decode step (e2e)", "batch (sequences)", NULL, 0, 0}};
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
                    double x = pi >= 2 ? row->batch : row->n_tokens;
                    if (x <= 0)
                        continue;
                    /* the device by its letter: its full name heads the plot */
                    char label[200];
                    snprintf(label, sizeof label, "%c %s%s%s%s", 'A' + dev_no % 26, row->shape,
                             row->kv_dtype[0] ? " kv " : "", row->kv_dtype,
                             dashed ? (suite->name[0] == 'n' ? " naive" : " gemm") : "");
                    add_point(series_for(&panels[pi], label, dashed), x, y);
                }
            }
        }
    int used = 0, head = 20 + 16 * dev_no;
    for (int i = 0; i < N_PANELS; ++i)
        used += panels[i].n > 0;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                 "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            PANEL_W, head + (used ? used * PANEL_H : 30));
    /* one line per device, its whole name: labels below carry only its letter */
    dev_no = 0;
    for (int r = 0; r < n_reports; ++r)
        for (int d = 0; d < reports[r]->n_devices; ++d, ++dev_no) {
            const prof_device *dev = &reports[r]->devices[d];
            const char *file = strrchr(reports[r]->source, '/');
            fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\">%c  ", PLOT_X0, 20 + 16 * dev_no,
                    'A' + dev_no % 26);
            xml_text(out, file ? file + 1 : reports[r]->source);
            fprintf(out, "%s", reports[r]->source[0] ? ": " : "");
            xml_text(out, dev->name);
            fprintf(out, " (%s, driver ", dev->type);
            xml_text(out, dev->driver_version);
            fprintf(out, ")</text>\n");
        }
    if (!used)
        fprintf(out, "<text x=\"20\" y=\"%d\" font-size=\"14\">no ok rows to plot</text>\n", head + 15);
    for (int i = 0, top = head; i < N_PANELS; ++i) {
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
