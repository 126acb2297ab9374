//! The analytics panel of the three portals: a time-range picker (`?range=`), headline figures,
//! traffic (requests and errors per step) and latency percentiles (p50, p95, p99) as SVG
//! charts, errors by cause and the top APIs, applications and operations as bar lists — or an
//! empty state that says what fills it. Times are UTC.
//!
//! The report is a resource made with the page (outside its Suspense, so a direct load of the
//! URL hydrates): [`resource`]; [`AnalyticsPanel`] shows it.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::analytics::{Point, Range, Report, Scope, Top, analytics_call, cause_label};
use crate::api::ServiceError;
use crate::components::EmptyState;

/// A report, or nothing while the panel is not shown.
pub type Data = Resource<Option<Result<Report, ServiceError>>>;

/// The report of `scope()` for the URL's `?range=` (24 hours by default); loads only while
/// `scope()` is `Some`.
pub fn resource(scope: impl Fn() -> Option<Scope> + Send + Sync + 'static) -> Data {
    let query = use_query_map();
    Resource::new(
        move || (scope(), selected(&query.with(|q| q.get("range")))),
        |(scope, range)| async move {
            let scope = scope?;
            Some(crate::api::reached(analytics_call(scope, range).await))
        },
    )
}

fn selected(param: &Option<String>) -> Range {
    param.as_deref().and_then(Range::parse).unwrap_or_default()
}

/// Which top lists a panel shows.
#[derive(Clone, Copy)]
pub struct Lists {
    pub apis: bool,
    pub applications: bool,
    pub operations: bool,
}

#[component]
pub fn AnalyticsPanel(
    data: Data,
    lists: Lists,
    /// What the empty state says fills the panel.
    empty: &'static str,
) -> impl IntoView {
    let query = use_query_map();
    let range = move || selected(&query.with(|q| q.get("range")));
    let picker = move || {
        let current = range();
        Range::ALL
            .into_iter()
            .map(|r| {
                let class = if r == current {
                    "rounded-md bg-indigo-600 px-3 py-1 text-sm font-medium text-white"
                } else {
                    "rounded-md px-3 py-1 text-sm text-slate-600 hover:bg-slate-100"
                };
                view! {
                    <a href=format!("?range={}", r.param()) class=class data-range=r.param()
                        aria-current=(r == current).then_some("true") title=r.label()>
                        {r.param()}
                    </a>
                }
            })
            .collect_view()
    };
    view! {
        <section data-testid="analytics">
            <div class="mb-4 flex flex-wrap items-center justify-between gap-3">
                <h2 class="text-lg font-semibold">"Traffic"
                    <span class="ml-2 text-sm font-normal text-slate-500">{move || range().label()} " (UTC)"</span>
                </h2>
                <nav class="flex gap-1 rounded-lg bg-white p-1 shadow-sm ring-1 ring-slate-200" aria-label="Time range" data-testid="range-picker">
                    {picker}
                </nav>
            </div>
            <Transition fallback=|| view! { <p class="text-slate-500">"Loading analytics…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <p class="text-rose-600" data-testid="analytics-error">{e.to_string()}</p> }.into_any(),
                        Some(Ok(r)) if r.totals.requests == 0 => view! {
                            <div data-testid="analytics-empty">
                                <EmptyState title="No traffic in this range" detail=empty/>
                            </div>
                        }.into_any(),
                        Some(Ok(r)) => report_view(r, lists).into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

const CARD: &str = "rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200";

fn report_view(r: Report, lists: Lists) -> impl IntoView {
    let t = &r.totals;
    let error_rate = if t.requests > 0 {
        t.errors as f64 * 100.0 / t.requests as f64
    } else {
        0.0
    };
    let figures = vec![
        ("Requests", count(t.requests), "analytics-requests"),
        (
            "Errors",
            format!("{} ({error_rate:.1} %)", count(t.errors)),
            "analytics-errors",
        ),
        (
            "Latency p50 / p95 / p99",
            format!("{} / {} / {}", ms(t.p50_ms), ms(t.p95_ms), ms(t.p99_ms)),
            "analytics-latency",
        ),
        (
            "Backend / gateway (avg)",
            format!("{} / {}", ms(t.backend_ms), ms(t.gateway_ms)),
            "analytics-split",
        ),
        (
            "Data in / out",
            format!("{} / {}", bytes(t.bytes_in), bytes(t.bytes_out)),
            "analytics-bytes",
        ),
    ];
    let causes: Vec<Top> = r
        .errors_by_cause
        .iter()
        .map(|c| Top {
            id: c.cause.clone(),
            name: cause_label(&c.cause).to_string(),
            requests: c.count,
            errors: c.count,
        })
        .collect();
    let step = r.step_seconds;
    view! {
        <div class="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-5">
            {figures.into_iter().map(|(label, value, id)| view! {
                <div class=CARD>
                    <div class="text-xs font-semibold uppercase tracking-wide text-slate-500">{label}</div>
                    <div class="mt-1 text-lg font-semibold text-slate-900" data-testid=id>{value}</div>
                </div>
            }).collect_view()}
        </div>
        <div class="mb-4 grid gap-4 lg:grid-cols-2">
            <div class=CARD>
                <h3 class="mb-2 text-sm font-semibold text-slate-700">"Requests and errors"</h3>
                {traffic_chart(&r.series, step)}
            </div>
            <div class=CARD>
                <h3 class="mb-2 text-sm font-semibold text-slate-700">"Latency percentiles"</h3>
                {latency_chart(&r.series, step)}
            </div>
        </div>
        <div class="grid gap-4 lg:grid-cols-2">
            <div class=CARD data-testid="errors-by-cause">
                <h3 class="mb-2 text-sm font-semibold text-slate-700">"Errors by cause"</h3>
                {if causes.is_empty() {
                    view! { <p class="text-sm text-slate-500">"No errors in this range."</p> }.into_any()
                } else {
                    bar_list(causes, "bg-rose-500", false).into_any()
                }}
            </div>
            {lists.applications.then(|| top_card("Top applications", "top-applications", r.top_applications.clone(), "No calls with an application's credentials."))}
            {lists.apis.then(|| top_card("Top APIs", "top-apis", r.top_apis.clone(), "No API was called."))}
            {lists.operations.then(|| top_card("Top operations", "top-operations", r.top_operations.clone(), "No operation was called."))}
        </div>
    }
}

fn top_card(
    title: &'static str,
    id: &'static str,
    rows: Vec<Top>,
    none: &'static str,
) -> impl IntoView {
    view! {
        <div class=CARD data-testid=id>
            <h3 class="mb-2 text-sm font-semibold text-slate-700">{title}</h3>
            {if rows.is_empty() {
                view! { <p class="text-sm text-slate-500">{none}</p> }.into_any()
            } else {
                bar_list(rows, "bg-indigo-500", true).into_any()
            }}
        </div>
    }
}

/// Horizontal bars, the longest for the largest count; `errors` adds the error share.
fn bar_list(rows: Vec<Top>, color: &'static str, errors: bool) -> impl IntoView {
    let max = rows.iter().map(|r| r.requests).max().unwrap_or(1).max(1) as f64;
    view! {
        <ul class="space-y-2">
            {rows.into_iter().map(|r| {
                let width = (r.requests as f64 / max * 100.0).max(1.0);
                let error_width = if r.requests > 0 { r.errors as f64 / r.requests as f64 * 100.0 } else { 0.0 };
                view! {
                    <li data-row=r.name.clone()>
                        <div class="flex justify-between gap-2 text-sm">
                            <span class="truncate text-slate-700" title=r.name.clone()>{r.name.clone()}</span>
                            <span class="shrink-0 tabular-nums text-slate-500">
                                {count(r.requests)}
                                {(errors && r.errors > 0).then(|| view! { <span class="ml-1 text-rose-600">{format!("({} errors)", count(r.errors))}</span> })}
                            </span>
                        </div>
                        <div class="mt-1 h-2 rounded bg-slate-100">
                            <div class=format!("relative h-2 overflow-hidden rounded {color}") style=format!("width: {width:.1}%")>
                                {(errors && r.errors > 0).then(|| view! {
                                    <div class="absolute inset-y-0 right-0 bg-rose-500" style=format!("width: {error_width:.1}%")></div>
                                })}
                            </div>
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

// ----- SVG charts -----------------------------------------------------------------------------

const W: f64 = 640.0;
const H: f64 = 200.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 22.0;
const TOP_PAD: f64 = 8.0;

/// A round axis maximum at or above `v`.
fn nice(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

/// The frame: horizontal grid lines with their labels, and time labels under the first,
/// middle and last steps.
fn frame(series: &[Point], step: i64, max: f64, unit: fn(f64) -> String) -> impl IntoView + use<> {
    let plot_h = H - BOTTOM - TOP_PAD;
    let grid = (0..=4)
        .map(|k| {
            let v = max * k as f64 / 4.0;
            let y = TOP_PAD + plot_h - plot_h * k as f64 / 4.0;
            view! {
                <line x1=LEFT x2=W y1=y y2=y class="stroke-slate-200" stroke-width="1"/>
                <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end" class="fill-slate-500" font-size="11">{unit(v)}</text>
            }
        })
        .collect_view();
    let n = series.len().max(1);
    let slot = (W - LEFT) / n as f64;
    let long = step >= 3_600;
    let labels = [0, n / 2, n.saturating_sub(1)]
        .into_iter()
        .filter_map(|i| series.get(i).map(|p| (i, p.t)))
        .map(|(i, t)| {
            let x = LEFT + slot * (i as f64 + 0.5);
            let anchor = if i == 0 {
                "start"
            } else if i + 1 == n {
                "end"
            } else {
                "middle"
            };
            view! {
                <text x=x y=H - 6.0 text-anchor=anchor class="fill-slate-500" font-size="11">{clock(t, long)}</text>
            }
        })
        .collect_view();
    view! { {grid} {labels} }
}

fn traffic_chart(series: &[Point], step: i64) -> impl IntoView + use<> {
    let max = nice(series.iter().map(|p| p.requests).max().unwrap_or(0) as f64);
    let plot_h = H - BOTTOM - TOP_PAD;
    let n = series.len().max(1);
    let slot = (W - LEFT) / n as f64;
    let width = (slot * 0.8).max(1.0);
    let long = step >= 3_600;
    let bars = series
        .iter()
        .enumerate()
        .filter(|(_, p)| p.requests > 0)
        .map(|(i, p)| {
            let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
            let h = p.requests as f64 / max * plot_h;
            let eh = p.errors as f64 / max * plot_h;
            let base = TOP_PAD + plot_h;
            let tip = format!(
                "{}: {} requests, {} errors",
                clock(p.t, long),
                count(p.requests),
                count(p.errors)
            );
            view! {
                <g data-t=p.t>
                    <title>{tip}</title>
                    <rect x=x y=base - h width=width height=h class="fill-indigo-500"/>
                    {(p.errors > 0).then(|| view! {
                        <rect x=x y=base - eh width=width height=eh class="fill-rose-500"/>
                    })}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {W} {H}") class="h-auto w-full" role="img" aria-label="Requests and errors over time" data-testid="traffic-chart">
            {frame(series, step, max, axis_count)}
            {bars}
        </svg>
        <div class="mt-1 flex gap-4 text-xs text-slate-500">
            <span><span class="mr-1 inline-block h-2 w-3 rounded-sm bg-indigo-500"></span>"Requests"</span>
            <span><span class="mr-1 inline-block h-2 w-3 rounded-sm bg-rose-500"></span>"Errors"</span>
        </div>
    }
}

fn latency_chart(series: &[Point], step: i64) -> impl IntoView + use<> {
    let top = series
        .iter()
        .filter_map(|p| p.p99_ms)
        .fold(0.0f64, f64::max);
    let max = nice(top);
    let plot_h = H - BOTTOM - TOP_PAD;
    let n = series.len().max(1);
    let slot = (W - LEFT) / n as f64;
    // One path per percentile; a step without traffic breaks the line (a lone step is a dot).
    let path = |pick: fn(&Point) -> Option<f64>| {
        let mut d = String::new();
        let mut open = false;
        for (i, p) in series.iter().enumerate() {
            match pick(p) {
                Some(v) => {
                    let x = LEFT + slot * (i as f64 + 0.5);
                    let y = TOP_PAD + plot_h - (v / max).min(1.0) * plot_h;
                    let next = series.get(i + 1).and_then(pick).is_some();
                    if open {
                        d.push_str(&format!("L{x:.1},{y:.1} "));
                    } else if next {
                        d.push_str(&format!("M{x:.1},{y:.1} "));
                    } else {
                        // A lone point: a short flat stroke so it shows.
                        d.push_str(&format!("M{:.1},{y:.1} L{:.1},{y:.1} ", x - 2.0, x + 2.0));
                    }
                    open = next;
                }
                None => open = false,
            }
        }
        d
    };
    let lines = [
        ("p50", "stroke-emerald-500", path(|p| p.p50_ms)),
        ("p95", "stroke-amber-500", path(|p| p.p95_ms)),
        ("p99", "stroke-rose-500", path(|p| p.p99_ms)),
    ];
    view! {
        <svg viewBox=format!("0 0 {W} {H}") class="h-auto w-full" role="img" aria-label="Latency percentiles over time" data-testid="latency-chart">
            {frame(series, step, max, |v| ms(Some(v)))}
            {lines.iter().map(|(name, class, d)| view! {
                <path d=d.clone() fill="none" class=*class stroke-width="2" stroke-linejoin="round" stroke-linecap="round" data-series=*name/>
            }).collect_view()}
        </svg>
        <div class="mt-1 flex gap-4 text-xs text-slate-500">
            <span><span class="mr-1 inline-block h-0.5 w-3 bg-emerald-500 align-middle"></span>"p50"</span>
            <span><span class="mr-1 inline-block h-0.5 w-3 bg-amber-500 align-middle"></span>"p95"</span>
            <span><span class="mr-1 inline-block h-0.5 w-3 bg-rose-500 align-middle"></span>"p99"</span>
        </div>
    }
}

// ----- numbers and times ----------------------------------------------------------------------

/// `1234567` → `1,234,567`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A count axis label: `2.5` between whole numbers (small maxima), else `1,250`.
fn axis_count(v: f64) -> String {
    if v.fract().abs() > 1e-9 {
        format!("{v:.1}")
    } else {
        count(v as i64)
    }
}

/// Milliseconds, or seconds from one second up; `–` for none.
pub fn ms(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
        Some(v) if v >= 100.0 => format!("{v:.0} ms"),
        Some(v) if v >= 10.0 => format!("{v:.1} ms"),
        Some(v) => format!("{v:.2} ms"),
    }
}

pub fn bytes(n: i64) -> String {
    let n = n as f64;
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.1} kB", n / 1e3),
        n => format!("{n:.0} B"),
    }
}

/// `14:05`, or with `long` `Nov 27 14:00` (UTC).
pub fn clock(t: i64, long: bool) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let hm = format!("{:02}:{:02}", secs / 3_600, secs % 3_600 / 60);
    if !long {
        return hm;
    }
    let (_, m, d) = civil(days);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{} {d} {hm}", MONTHS[(m - 1) as usize])
}

/// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-1_000), "-1,000");
        assert_eq!(ms(None), "–");
        assert_eq!(ms(Some(0.25)), "0.25 ms");
        assert_eq!(ms(Some(12.34)), "12.3 ms");
        assert_eq!(ms(Some(1750.0)), "1.75 s");
        assert_eq!(bytes(1_500), "1.5 kB");
        // 2026-11-27 14:05 UTC.
        assert_eq!(clock(1_795_788_300, false), "14:05");
        assert_eq!(clock(1_795_788_300, true), "Nov 27 14:05");
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_782), (2024, 2, 29));
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(120.0), 200.0);
        assert_eq!(nice(2.2), 2.5);
        assert_eq!(axis_count(2.5), "2.5");
        assert_eq!(axis_count(5000.0), "5,000");
    }
}
