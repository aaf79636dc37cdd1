//! The report jobs' pages (报表任务): an auditor asks for a balance sheet or an audit report, a reviewer or
//! an auditor for a check run; the job runs in the background ([`super::jobs`]), its page shows its stage
//! live and lets the person who asked (or an admin) cancel it, and its files are downloaded from it.
//!
//! Who sees a job: the person who asked, admins and auditors (who read everything), and reviewers for
//! check runs. Starting and cancelling a job are written to the trail, with the SHA-256 of its inputs.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Multipart, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::admin::{form_token, format_only, html, page};
use super::auth::Caller;
use super::html::escape;
use super::jobs::{Arg, Job, Kind, Plan};
use super::login::posted;
use super::params::{Format, Query};
use super::problem::{clip, ApiError};
use super::Service;
use crate::model::LayerKind;
use crate::store::{Change, Role};

/// Whether `caller` may start a job of `kind`: an auditor any, a reviewer (the land bureau's monitoring) a
/// check run or a warning.
fn may_start(caller: &Caller, kind: Kind) -> bool {
    matches!((caller.role(), kind), (Some(Role::Auditor), _) | (Some(Role::Reviewer), Kind::Check | Kind::Warning))
}

/// Whether `caller` may see `job` and its files.
fn may_see(caller: &Caller, job: &Job) -> bool {
    let Some(a) = &caller.account else { return false };
    a.name == job.by
        || matches!(a.role, Role::Admin | Role::Auditor)
        || (a.role == Role::Reviewer && matches!(job.kind, Kind::Check | Kind::Warning))
}

/// The job `id` names if `caller` may see it, else a 404 (a job one may not see is not shown to exist).
fn visible(s: &Service, caller: &Caller, id: &str) -> Result<Job, ApiError> {
    let missing = || ApiError::not_found("id", format!("no job '{}'", clip(id)));
    let n = id.parse::<u64>().map_err(|_| missing())?;
    s.jobs.get(n).filter(|j| may_see(caller, j)).ok_or_else(missing)
}

/// A job as JSON: the record, with its state in words and whether it has ended.
fn job_json(job: &Job) -> serde_json::Value {
    let mut v = serde_json::to_value(job).unwrap_or_default();
    v["state_title"] = job.state.title().into();
    v["final"] = job.state.is_final().into();
    v
}

/// `/jobs[?f=json|html]`: the jobs the caller may see, newest first, and the forms they may use.
pub async fn list(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let format = format_only(raw.as_deref(), &headers)?;
    let jobs: Vec<Job> = s.jobs.list().into_iter().filter(|j| may_see(&caller, j)).collect();
    if format == Format::Json {
        return Ok(axum::Json(jobs.iter().map(job_json).collect::<Vec<_>>()).into_response());
    }
    let rows: String = jobs
        .iter()
        .map(|j| {
            format!(
                "<tr><td><a href=\"jobs/{id}\">#{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                j.kind.title(),
                escape(&summary(j)),
                escape(&j.by),
                escape(&j.submitted),
                j.state.title(),
                id = j.id
            )
        })
        .collect();
    let new: String = Kind::ALL
        .into_iter()
        .filter(|k| may_start(&caller, *k))
        .map(|k| format!("<a href=\"jobs/new?kind={}\">新建 New: {}</a> ", k.command(), k.title()))
        .collect();
    let body = format!(
        "<p>{new}</p><table><tr><th>#</th><th>类型 Kind</th><th>参数 Parameters</th><th>提交人 By</th>\
         <th>提交时间 Submitted</th><th>状态 State</th></tr>{rows}</table>"
    );
    Ok(html(StatusCode::OK, page(&s, &caller, "报表任务 Report jobs", &body)))
}

/// The parameters of a job in one line.
fn summary(job: &Job) -> String {
    job.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// `/jobs/new?kind=balance|audit|check|warn`: the form.
pub async fn new(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let kind = kind_of(q.take("kind").as_deref().unwrap_or(""))?;
    q.done()?;
    if !may_start(&caller, kind) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "kind",
            format!("your role may not start a {} job", kind.command()),
        ));
    }
    let dates = s.pool.read(|reg| Ok(reg.vintages(LayerKind::Parcels)?)).await?;
    let mut values = HashMap::new();
    if let (Some(first), Some(last)) = (dates.first(), dates.last()) {
        values.insert("from".to_string(), first.to_string());
        values.insert("to".to_string(), last.to_string());
    }
    Ok(html(StatusCode::OK, form_page(&s, &caller, kind, &values, None)))
}

fn kind_of(s: &str) -> Result<Kind, ApiError> {
    Kind::parse(s).ok_or_else(|| ApiError::bad("kind", format!("'{}': give balance, audit, check or warn", clip(s))))
}

/// The form of `kind` filled with `values`, with `refusal` (message, field) shown.
fn form_page(
    s: &Service,
    caller: &Caller,
    kind: Kind,
    values: &HashMap<String, String>,
    refusal: Option<(String, String)>,
) -> String {
    let (message, at) = refusal.unwrap_or_default();
    let field = |name: &str, label: &str, extra: &str| {
        let bad = if name == at { " class=\"bad\" aria-invalid=\"true\"" } else { "" };
        format!(
            "<label for=\"{name}\">{label}</label><input id=\"{name}\" name=\"{name}\" value=\"{}\"{extra}{bad}>",
            escape(values.get(name).map_or("", String::as_str))
        )
    };
    let file = |name: &str, label: &str, accept: &str| {
        let bad = if name == at { " class=\"bad\" aria-invalid=\"true\"" } else { "" };
        format!("<label for=\"{name}\">{label}</label><input id=\"{name}\" name=\"{name}\" type=\"file\" accept=\"{accept}\"{bad}>")
    };
    let region = field("region", "行政区代码 Region (admin code) *", " required pattern=\"[0-9]{2,12}\"");
    let period =
        [field("from", "期初 From *", " type=\"date\" required"), field("to", "期末 To *", " type=\"date\" required")]
            .concat();
    let (water, livestock) = (
        file("water", "水资源统计 Water statistics (CSV or Parquet)", ".csv,.parquet"),
        file("livestock", "牲畜存栏 Livestock (CSV or Parquet)", ".csv,.parquet"),
    );
    let tables = [
        file("forest_changes", "森林变动 Forest changes (CSV or Parquet)", ".csv,.parquet"),
        water.clone(),
        livestock.clone(),
    ]
    .concat();
    let fields = match kind {
        Kind::Balance => [
            region,
            period,
            "<label for=\"level\">分类级别 Level</label><select id=\"level\" name=\"level\">\
                 <option value=\"1\">一级类 first level</option><option value=\"2\">二级类 second level</option>\
                 <option value=\"8class\">八大类 8 classes</option></select>\
                 <label for=\"unit\">面积单位 Area unit</label><select id=\"unit\" name=\"unit\">\
                 <option value=\"ha\">公顷 ha</option><option value=\"mu\">亩 mu</option><option value=\"m2\">平方米 m²</option></select>\
                 <label><input type=\"checkbox\" name=\"by_county\" value=\"1\" style=\"min-width:0\"> 逐县计算 County by county (a province)</label>"
                .to_string(),
            file("targets", "管控目标 Targets (TOML or JSON)", ".toml,.json"),
            tables,
        ]
        .concat(),
        Kind::Audit => [
            field("official", "被审计人 Official *", " required maxlength=\"64\""),
            field("post", "职务 Post *", " required maxlength=\"64\""),
            region,
            period,
            file("targets", "管控目标 Targets (TOML or JSON) *", ".toml,.json"),
            tables,
        ]
        .concat(),
        Kind::Check => [
            field("as_of", "检查日期 Date (blank: current records)", " type=\"date\""),
            field("region", "行政区代码 Region (blank: all)", " pattern=\"[0-9]{2,12}\""),
        ]
        .concat(),
        Kind::Warning => [
            "<p class=\"hint\">逐乡镇（省、市为逐县）评价 each township of a county (each county of a city or province) is judged.</p>"
                .to_string(),
            region,
            period,
            file("targets", "管控目标 Targets: 主体功能区, 用水总量控制指标 (TOML or JSON)", ".toml,.json"),
            water,
            livestock,
        ]
        .concat(),
    };
    let message = if message.is_empty() {
        String::new()
    } else {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(&message))
    };
    let body = format!(
        "{message}<form method=\"post\" action=\"../jobs\" enctype=\"multipart/form-data\" class=\"reg\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"kind\" value=\"{k}\">\
         {fields}<p><button type=\"submit\">开始 Start</button></p></form>",
        csrf = form_token(caller),
        k = kind.command(),
    );
    page(s, caller, &format!("新建任务 New job: {}", kind.title()), &body)
}

/// `POST /jobs` (multipart form): check the form and start the job, or the form again saying why not.
pub async fn start(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    form: Multipart,
) -> Result<Response, ApiError> {
    let super::upload::PostedForm { values, files } = super::upload::posted(&caller, form).await?;
    let files: HashMap<String, (String, Vec<u8>)> = files.into_iter().map(|(f, n, b)| (f, (n, b))).collect();
    let kind = kind_of(values.get("kind").map_or("", String::as_str))?;
    if !may_start(&caller, kind) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "kind",
            format!("your role may not start a {} job", kind.command()),
        ));
    }
    let plan = match plan(kind, &values, files) {
        Ok(p) => p,
        Err(why) => return Ok(html(StatusCode::BAD_REQUEST, form_page(&s, &caller, kind, &values, Some(why)))),
    };
    let actor = caller.actor();
    let (jobs, who, origin) = (s.jobs.clone(), actor.who.clone(), actor.origin.clone());
    let started = tokio::task::spawn_blocking(move || jobs.start(plan, &who, &origin))
        .await
        .map_err(|_| ApiError::internal("starting the job panicked"))??;
    let Some(job) = started else {
        return Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "60")],
            "too many jobs are waiting; try again in a minute",
        )
            .into_response());
    };
    let inputs: Vec<String> = job.inputs.iter().map(|f| format!("{} sha256:{}", f.name, f.sha256)).collect();
    let detail = format!(
        "{} {}; inputs: {}",
        kind.command(),
        summary(&job),
        if inputs.is_empty() { "none".into() } else { inputs.join(", ") }
    );
    let target = format!("job:{}", job.id);
    let after =
        crate::hashing::sha256_hex(serde_json::to_string(&(&job.params, &job.inputs)).unwrap_or_default().as_bytes());
    let change = Change { action: "job.start", target: &target, detail, before: None, after: Some(after) };
    s.record(actor, change).await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{}/jobs/{}", s.base, job.id))]).into_response())
}

/// Why a form is refused: the message, and the field at fault.
type Refusal = (String, String);

/// The fields of a posted form.
struct Form<'a>(&'a HashMap<String, String>);

impl Form<'_> {
    fn get(&self, k: &str) -> String {
        self.0.get(k).map(|v| v.trim().to_string()).unwrap_or_default()
    }

    /// A date field (`YYYY-MM-DD`), None when blank.
    fn date(&self, k: &str) -> Result<Option<String>, Refusal> {
        let v = self.get(k);
        if v.is_empty() {
            return Ok(None);
        }
        crate::model::parse_date(&v).map(|d| Some(d.to_string())).map_err(|e| (format!("日期无效。{k}: {e}"), k.into()))
    }
}

impl Plan {
    /// A parameter shown with the job and passed to the command as `--flag value`.
    fn set(&mut self, name: &str, flag: &str, value: &str) {
        self.params.push((name.into(), value.into()));
        self.args.extend([Arg::Text(flag.into()), Arg::Text(value.into())]);
    }

    /// An output file the command writes, named by `--flag`.
    fn output(&mut self, flag: &str, name: &'static str) {
        self.args.extend([Arg::Text(flag.into()), Arg::Output(name)]);
    }
}

/// The job a form asks for, or why not.
fn plan(
    kind: Kind,
    values: &HashMap<String, String>,
    files: HashMap<String, (String, Vec<u8>)>,
) -> Result<Plan, Refusal> {
    let form = Form(values);
    let mut p = Plan { kind, params: Vec::new(), args: Vec::new(), inputs: Vec::new(), stdout: None, success: &[0] };
    match kind {
        Kind::Audit => {
            official(&form, &mut p)?;
            region(&form, &mut p, true)?;
            period(&form, &mut p)?;
            tables(files, &mut p)?;
            for (flag, out) in [("--out", "audit.html"), ("--xlsx", "audit.xlsx"), ("--json", "audit.json")] {
                p.output(flag, out);
            }
        }
        Kind::Balance => {
            region(&form, &mut p, true)?;
            period(&form, &mut p)?;
            tables(files, &mut p)?;
            sheet_options(&form, &mut p)?;
            for (flag, out) in
                [("--json", "balance.json"), ("--xlsx", "balance.xlsx"), ("--trace", "balance-trace.gpkg")]
            {
                p.output(flag, out);
            }
            p.stdout = Some("balance.txt");
        }
        Kind::Warning => {
            region(&form, &mut p, true)?;
            period(&form, &mut p)?;
            tables(files, &mut p)?;
            p.args.extend(["--format", "json"].map(|a| Arg::Text(a.into())));
            p.output("--out", "warning.json");
            p.output("--layer", "warning.geojson");
        }
        Kind::Check => {
            if let Some(d) = form.date("as_of")? {
                p.set("as_of", "--as-of", &d);
            }
            region(&form, &mut p, false)?;
            p.args.extend(["--store", "--format", "json"].map(|a| Arg::Text(a.into())));
            p.output("--out", "findings.gpkg");
            (p.stdout, p.success) = (Some("findings.json"), &[0, 1]);
        }
    }
    Ok(p)
}

/// The official and their post (an audit).
fn official(form: &Form, p: &mut Plan) -> Result<(), Refusal> {
    for (k, label) in [("official", "被审计人"), ("post", "职务")] {
        let v = form.get(k);
        if v.is_empty() || v.chars().count() > 64 || v.chars().any(char::is_control) {
            return Err((format!("请填写{label}（至多64字）。Give the {k} (at most 64 characters)."), k.into()));
        }
        p.set(k, &format!("--{k}"), &v);
    }
    Ok(())
}

/// The region: an admin code of 2 to 12 digits (blank allowed unless `required`).
fn region(form: &Form, p: &mut Plan, required: bool) -> Result<(), Refusal> {
    let region = form.get("region");
    if region.is_empty() && !required {
        return Ok(());
    }
    if region.len() < 2 || region.len() > 12 || !region.bytes().all(|b| b.is_ascii_digit()) {
        return Err((
            "行政区代码须为2至12位数字。Give the region as an admin code of 2 to 12 digits.".into(),
            "region".into(),
        ));
    }
    p.set("region", "--region", &region);
    Ok(())
}

/// The opening and closing dates, the closing after the opening.
fn period(form: &Form, p: &mut Plan) -> Result<(), Refusal> {
    let missing = |k: &str| (format!("请填写日期。Give the date {k}."), k.to_string());
    let from = form.date("from")?.ok_or_else(|| missing("from"))?;
    let to = form.date("to")?.ok_or_else(|| missing("to"))?;
    if from >= to {
        return Err(("期末须晚于期初。The closing date must be after the opening date.".into(), "to".into()));
    }
    p.set("from", "--from", &from);
    p.set("to", "--to", &to);
    Ok(())
}

/// A balance sheet's level, area unit and county-by-county switch.
fn sheet_options(form: &Form, p: &mut Plan) -> Result<(), Refusal> {
    let level = match form.get("level").as_str() {
        "" | "1" => "1",
        "2" => "2",
        "8class" => "8class",
        other => return Err((format!("分类级别无效 '{}'", clip(other)), "level".into())),
    };
    let unit = match form.get("unit").as_str() {
        "" | "ha" => "ha",
        "mu" => "mu",
        "m2" => "m2",
        other => return Err((format!("面积单位无效 '{}'", clip(other)), "unit".into())),
    };
    p.set("level", "--level", level);
    p.set("unit", "--unit", unit);
    if form.get("by_county") == "1" {
        p.params.push(("by_county".into(), "1".into()));
        p.args.push(Arg::Text("--by-county".into()));
    }
    Ok(())
}

/// The uploaded tables (targets; required for an audit), kept under names of the server's choosing,
/// never the name they were sent with.
fn tables(mut files: HashMap<String, (String, Vec<u8>)>, p: &mut Plan) -> Result<(), Refusal> {
    const UPLOADS: [(&str, &str, [&str; 2], &str); 4] = [
        ("targets", "targets", ["toml", "json"], "--targets"),
        ("forest_changes", "forest-changes", ["csv", "parquet"], "--forest-changes"),
        ("water", "water", ["csv", "parquet"], "--water"),
        ("livestock", "livestock", ["csv", "parquet"], "--livestock"),
    ];
    // a warning reads no forest changes
    let takes = |field: &str| !(p.kind == Kind::Warning && field == "forest_changes");
    for (field, stem, exts, flag) in UPLOADS.into_iter().filter(|u| takes(u.0)) {
        let Some((name, bytes)) = files.remove(field) else {
            if p.kind == Kind::Audit && field == "targets" {
                return Err(("离任审计须上传管控目标文件。The audit needs a targets file.".into(), field.into()));
            }
            continue;
        };
        let ext =
            std::path::Path::new(&name.to_lowercase()).extension().and_then(|e| e.to_str()).unwrap_or("").to_string();
        if !exts.contains(&ext.as_str()) {
            return Err((
                format!("文件类型不支持。{}: give a .{} file", clip(&name), exts.join(" or .")),
                field.into(),
            ));
        }
        let stored: &'static str = match (stem, ext.as_str()) {
            ("targets", "toml") => "targets.toml",
            ("targets", _) => "targets.json",
            ("forest-changes", "csv") => "forest-changes.csv",
            ("forest-changes", _) => "forest-changes.parquet",
            ("water", "csv") => "water.csv",
            ("water", _) => "water.parquet",
            ("livestock", "csv") => "livestock.csv",
            _ => "livestock.parquet",
        };
        p.params.push((field.into(), name));
        p.args.extend([Arg::Text(flag.into()), Arg::Input(stored)]);
        p.inputs.push((stored, bytes));
    }
    if let Some(field) = files.keys().next() {
        return Err((
            format!("此任务不接受该文件。A {} job takes no file '{}'.", p.kind.command(), clip(field)),
            field.clone(),
        ));
    }
    Ok(())
}

/// `/jobs/{id}[?f=json|html]`: where the job stands, its parameters and inputs, its files once done.
pub async fn show(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let format = format_only(raw.as_deref(), &headers)?;
    let job = visible(&s, &caller, &id)?;
    if format == Format::Json {
        return Ok(axum::Json(job_json(&job)).into_response());
    }
    Ok(html(
        StatusCode::OK,
        page(&s, &caller, &format!("任务 Job #{}: {}", job.id, job.kind.title()), &detail(&s, &caller, &job)),
    ))
}

/// The parameters of the forms, as their pages name them.
const LABELS: &[(&str, &str)] = &[
    ("official", "被审计人 Official"),
    ("post", "职务 Post"),
    ("region", "行政区 Region"),
    ("from", "期初 From"),
    ("to", "期末 To"),
    ("as_of", "检查日期 Date"),
    ("level", "分类级别 Level"),
    ("unit", "面积单位 Area unit"),
    ("by_county", "逐县计算 County by county"),
    ("targets", "管控目标 Targets"),
    ("forest_changes", "森林变动 Forest changes"),
    ("water", "水资源统计 Water statistics"),
    ("livestock", "牲畜存栏 Livestock"),
];

/// A parameter's label.
fn label(k: &str) -> &str {
    LABELS.iter().find(|(n, _)| *n == k).map_or(k, |(_, l)| l)
}

fn detail(s: &Service, caller: &Caller, job: &Job) -> String {
    let row = |k: &str, v: &str| format!("<tr><th>{k}</th><td>{}</td></tr>", escape(v));
    let params: String = job.params.iter().map(|(k, v)| row(label(k), v)).collect();
    let facts = [
        row("提交人 By", &format!("{} ({})", job.by, job.origin)),
        row("提交时间 Submitted", &job.submitted),
        row("开始 Started", job.started.as_deref().unwrap_or("")),
        row("结束 Ended", job.ended.as_deref().unwrap_or("")),
        row("取消人 Cancelled by", job.cancelled_by.as_deref().unwrap_or("")),
    ]
    .concat();
    let live = if job.state.is_final() {
        format!("<p>状态 State: <strong>{}</strong></p>", job.state.title())
    } else {
        format!(
            "<div id=\"job-live\" data-url=\"{b}/jobs/{id}?f=json\"><p>状态 State: <strong id=\"job-state\">{}</strong> · \
             阶段 Stage: <span id=\"job-stage\">{} ({})</span> · <span id=\"job-watch\"></span></p></div>\
             <script src=\"{b}/assets/job.js\"></script>",
            job.state.title(),
            escape(&job.stage),
            job.stages,
            b = escape(&s.base),
            id = job.id
        )
    };
    let cancel = if !job.state.is_final()
        && caller.account.as_ref().is_some_and(|a| a.name == job.by || a.role == Role::Admin)
    {
        format!(
            "<form method=\"post\" action=\"{}/jobs/{}/cancel\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button>取消任务 Cancel the job</button></form>",
            escape(&s.base),
            job.id,
            form_token(caller)
        )
    } else {
        String::new()
    };
    let message = if job.message.is_empty() {
        String::new()
    } else {
        format!("<h2>输出 Output</h2><pre>{}</pre>", escape(&job.message))
    };
    let findings = match (job.kind, job.state) {
        (Kind::Check, super::jobs::State::Done) => {
            format!("<p><a href=\"{}/findings\">查看检查发现 Review the findings</a></p>", escape(&s.base))
        }
        (Kind::Warning, super::jobs::State::Done) => format!(
            "<p><a class=\"on-map\" href=\"{}/?warning={}\">在地图上查看 View the warning on the map</a></p>",
            escape(&s.base),
            job.id
        ),
        _ => String::new(),
    };
    format!(
        "{live}{cancel}<table>{facts}{params}</table>{}{}{findings}{message}<p><a href=\"{}/jobs\">全部任务 All jobs</a></p>",
        files_table(s, job, "结果 Results", &job.outputs),
        files_table(s, job, "输入 Inputs", &job.inputs),
        escape(&s.base)
    )
}

/// A table of a job's files, each linked for download (and for viewing, when a browser shows it).
fn files_table(s: &Service, job: &Job, title: &str, files: &[super::jobs::JobFile]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let at = |name: &str| format!("{}/jobs/{}/files/{}", escape(&s.base), job.id, escape(name));
    let rows: String = files
        .iter()
        .map(|f| {
            let view = if viewable(&f.name) {
                format!(" · <a href=\"{}?view=1\">查看 view</a>", at(&f.name))
            } else {
                String::new()
            };
            format!(
                "<tr><td><a href=\"{}\">{}</a>{view}</td><td>{}</td><td class=\"hash\">{}</td></tr>",
                at(&f.name),
                escape(&f.name),
                f.bytes,
                escape(&f.sha256)
            )
        })
        .collect();
    format!("<h2>{title}</h2><table><tr><th>文件 File</th><th>字节 Bytes</th><th>SHA-256</th></tr>{rows}</table>")
}

/// Files shown in the browser as well as downloaded.
fn viewable(name: &str) -> bool {
    [".html", ".txt", ".json"].iter().any(|e| name.ends_with(e))
}

/// `POST /jobs/{id}/cancel` (form): cancel a job that waits or runs (the person who asked, or an admin).
pub async fn cancel(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    posted(&caller, &body)?;
    let job = visible(&s, &caller, &id)?;
    let me = caller.account.as_ref().map_or("", |a| a.name.as_str());
    if me != job.by && caller.role() != Some(Role::Admin) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "id", "only who started a job, or an admin, cancels it"));
    }
    if s.jobs.cancel(job.id, me) {
        let target = format!("job:{}", job.id);
        let change = Change {
            action: "job.cancel",
            target: &target,
            detail: format!("{} {}", job.kind.command(), summary(&job)),
            before: None,
            after: None,
        };
        s.record(caller.actor(), change).await?;
    }
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{}/jobs/{}", s.base, job.id))]).into_response())
}

/// `/jobs/{id}/files/{name}[?view=1]`: a job's file, downloaded (or, with `view`, an HTML, text or JSON
/// file shown in the browser, its scripts kept from the service's pages by a sandbox).
pub async fn file(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    Path((id, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let view = match q.take("view").as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(v) => return Err(ApiError::bad("view", format!("'{}': give 1 or 0", clip(v)))),
    };
    q.done()?;
    let job = visible(&s, &caller, &id)?;
    let path = s
        .jobs
        .file(&job, &name)
        .ok_or_else(|| ApiError::not_found("name", format!("job #{} has no file '{}'", job.id, clip(&name))))?;
    let f = tokio::fs::File::open(&path).await.map_err(ApiError::internal)?;
    let len = f.metadata().await.map_err(ApiError::internal)?.len();
    let mediatype = match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "txt" | "toml" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "gpkg" => "application/geopackage+sqlite3",
        "geojson" => "application/geo+json",
        _ => "application/octet-stream",
    };
    let disposition = if view && viewable(&name) {
        "inline".to_string()
    } else {
        format!("attachment; filename=\"job{}-{}\"", job.id, name)
    };
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(f));
    Ok((
        [
            (header::CONTENT_TYPE, mediatype.to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (header::CONTENT_SECURITY_POLICY, "sandbox allow-scripts".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        body,
    )
        .into_response())
}
