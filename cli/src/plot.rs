//! Small SVG charts for `pcct bench --plot` and `pcct stats --plot`: log-log line
//! charts, stacked bars and a share bar. Plain SVG text, no plotting dependency.

use super::bench::Row;
use std::fmt::Write;

const PALETTE: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const W: f64 = 720.0;
const H: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 46.0;

/// One line of a chart.
pub struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) points, drawn in order.
    pub points: Vec<(f64, f64)>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Wraps panels (each `H` tall) in one SVG document.
fn document(panels: &[String]) -> String {
    let h = H * panels.len().max(1) as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (i, p) in panels.iter().enumerate() {
        let _ = writeln!(s, "<g transform=\"translate(0,{})\">\n{p}</g>", i as f64 * H);
    }
    s.push_str("</svg>\n");
    s
}

/// Powers of ten spanning `[lo, hi]` (at least the two around them).
fn decades(lo: f64, hi: f64) -> (f64, f64) {
    (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)),
    )
}

fn frame(s: &mut String, title: &str, xlabel: &str, ylabel: &str) {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n\
         <rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#333\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n\
         <text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">{}</text>",
        LEFT + pw / 2.0,
        esc(title),
        LEFT + pw / 2.0,
        H - 8.0,
        esc(xlabel),
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        esc(ylabel)
    );
}

fn legend(s: &mut String, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        let y = TOP + 8.0 + 18.0 * i as f64;
        let x = W - RIGHT + 12.0;
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            y - 10.0,
            PALETTE[i % PALETTE.len()],
            x + 18.0,
            y,
            esc(name)
        );
    }
}

/// A log-log line chart panel.
pub fn loglog(title: &str, xlabel: &str, ylabel: &str, series: &[Series]) -> String {
    let mut s = String::new();
    frame(&mut s, title, xlabel, ylabel);
    let pts = series
        .iter()
        .flat_map(|l| l.points.iter())
        .filter(|p| p.0 > 0.0 && p.1 > 0.0);
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return s;
    }
    let (x0, x1) = decades(x0, x1);
    let (y0, y1) = decades(y0, y1);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let fx = |x: f64| LEFT + (x.log10() - x0.log10()) / (x1.log10() - x0.log10()) * pw;
    let fy = |y: f64| TOP + ph - (y.log10() - y0.log10()) / (y1.log10() - y0.log10()) * ph;
    let mut t = x0;
    while t <= x1 * 1.0001 {
        let _ = writeln!(
            s,
            "<line x1=\"{0}\" x2=\"{0}\" y1=\"{TOP}\" y2=\"{1}\" stroke=\"#ddd\"/>\
             <text x=\"{0}\" y=\"{2}\" text-anchor=\"middle\">{3:e}</text>",
            fx(t),
            TOP + ph,
            TOP + ph + 16.0,
            t
        );
        t *= 10.0;
    }
    let mut t = y0;
    while t <= y1 * 1.0001 {
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{0}\" y1=\"{1}\" y2=\"{1}\" stroke=\"#ddd\"/>\
             <text x=\"{2}\" y=\"{3}\" text-anchor=\"end\">{4:e}</text>",
            LEFT + pw,
            fy(t),
            LEFT - 6.0,
            fy(t) + 4.0,
            t
        );
        t *= 10.0;
    }
    for (i, l) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let path: Vec<String> = l
            .points
            .iter()
            .filter(|p| p.0 > 0.0 && p.1 > 0.0)
            .map(|&(x, y)| format!("{:.1},{:.1}", fx(x), fy(y)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
        for p in &path {
            let (x, y) = p.split_once(',').expect("x,y");
            let _ = writeln!(s, "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{c}\"/>");
        }
    }
    let names: Vec<&str> = series.iter().map(|l| l.name.as_str()).collect();
    legend(&mut s, &names);
    s
}

/// A stacked bar chart panel: one bar per entry of `bars`, one segment per name in
/// `stack` (values in the same order), linear y from 0.
pub fn stacked_bars(title: &str, xlabel: &str, ylabel: &str, stack: &[&str], bars: &[Vec<f64>]) -> String {
    let mut s = String::new();
    frame(&mut s, title, xlabel, ylabel);
    let top = bars.iter().map(|b| b.iter().sum::<f64>()).fold(0.0, f64::max);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    if bars.is_empty() || top <= 0.0 {
        return s;
    }
    for i in 0..=4 {
        let v = top * i as f64 / 4.0;
        let y = TOP + ph - ph * i as f64 / 4.0;
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.3}</text>",
            LEFT + pw,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let bw = pw / bars.len() as f64;
    for (i, b) in bars.iter().enumerate() {
        let mut y = TOP + ph;
        for (j, &v) in b.iter().enumerate() {
            let h = v / top * ph;
            y -= h;
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
                LEFT + bw * i as f64 + bw * 0.1,
                bw * 0.8,
                PALETTE[j % PALETTE.len()]
            );
        }
        if bars.len() <= 40 || i % (bars.len() / 20).max(1) == 0 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{i}</text>",
                LEFT + bw * (i as f64 + 0.5),
                TOP + ph + 16.0
            );
        }
    }
    legend(&mut s, stack);
    s
}

/// A panel with one horizontal bar split into shares (percent labels).
pub fn shares(title: &str, names: &[&str], values: &[f64]) -> String {
    let mut s = String::new();
    let total: f64 = values.iter().sum();
    let pw = W - LEFT - RIGHT;
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{}</text>",
        LEFT + pw / 2.0,
        esc(title)
    );
    if total <= 0.0 {
        return s;
    }
    let mut x = LEFT;
    for (i, &v) in values.iter().enumerate() {
        let w = v / total * pw;
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"60\" fill=\"{}\"/>",
            TOP + 40.0,
            PALETTE[i % PALETTE.len()]
        );
        if w > 36.0 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"white\">{:.0}%</text>",
                x + w / 2.0,
                TOP + 74.0,
                100.0 * v / total
            );
        }
        x += w;
    }
    let labels: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n} {:.1}%", 100.0 * v / total))
        .collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    legend(&mut s, &labels);
    s
}

/// `pcct bench --plot`: one log-log panel per workload, seconds vs n.
pub fn bench_svg(curves: &[Vec<Row>]) -> String {
    let panels: Vec<String> = curves
        .iter()
        .filter(|c| !c.is_empty())
        .map(|rows| {
            let w = &rows[0].workload;
            let xy = |f: &dyn Fn(&Row) -> Option<f64>| -> Vec<(f64, f64)> {
                rows.iter()
                    .filter_map(|r| f(r).map(|y| (r.workload.n as f64, y)))
                    .collect()
            };
            let mut series = vec![
                Series {
                    name: "pcct build + query".into(),
                    points: xy(&|r| Some(r.build.median + r.query.median)),
                },
                Series {
                    name: "pcct query".into(),
                    points: xy(&|r| Some(r.query.median)),
                },
                Series {
                    name: "brute force".into(),
                    points: xy(&|r| r.brute.map(|b| b.median)),
                },
                Series {
                    name: "sequential tree".into(),
                    points: xy(&|r| r.sequential.map(|(b, q)| b.median + q.median)),
                },
            ];
            series.retain(|s| !s.points.is_empty());
            loglog(
                &format!("{}: {}, d = {}, k = {}", w.id, w.metric_name(), w.dim, w.k),
                "tree points n",
                "seconds",
                &series,
            )
        })
        .collect();
    document(&panels)
}

/// `pcct stats --plot`: build time per batch by stage, and the stage shares.
pub fn stats_svg(stages: &[&str], per_batch: &[Vec<f64>]) -> String {
    let totals: Vec<f64> = (0..stages.len())
        .map(|j| per_batch.iter().map(|b| b[j]).sum())
        .collect();
    document(&[
        stacked_bars("build time per batch", "batch", "seconds", stages, per_batch),
        shares("share of build time by stage", stages, &totals),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_every_series() {
        let s = document(&[loglog(
            "t<1>",
            "n",
            "s",
            &[
                Series {
                    name: "a".into(),
                    points: vec![(1e3, 0.1), (1e4, 1.0)],
                },
                Series {
                    name: "b".into(),
                    points: vec![(1e3, 0.01), (1e4, 0.2)],
                },
            ],
        )]);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<polyline").count(), 2);
        assert_eq!(s.matches("<circle").count(), 4);
        assert!(s.contains("t&lt;1&gt;"));
        let st = stats_svg(&["x", "y"], &[vec![1.0, 3.0], vec![2.0, 2.0]]);
        // 4 segments + frame + 2 legend keys; 2 shares + 2 legend keys.
        assert_eq!(st.matches("<rect x=").count(), 4 + 1 + 2 + 2 + 2);
        assert!(st.contains("x 37.5%") && st.contains("y 62.5%"));
    }
}
