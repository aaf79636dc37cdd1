//! Accounts and roles (`nrledger user`) and the audit trail: what is stored (never a password), what is
//! refused, and that every change leaves one append-only trail row whose hashes chain.

use crate::common::*;

use std::path::Path;

use nrledger::catalog::Catalog;
use nrledger::store::{Actor, Password, Role};
use nrledger::Registry;

const SECRET: &str = "correct horse battery staple 马";

/// `nrledger user ARGS…` with `stdin`: (exit code, stdout, stderr).
fn user(args: &[&str], stdin: &str) -> (i32, String, String) {
    let out = nrledger().arg("user").args(args).write_stdin(stdin).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn open(reg: &Path) -> Registry {
    Registry::open(reg, Catalog::embedded().unwrap()).unwrap()
}

fn login(reg: &Path, name: &str, password: &str) -> Option<Role> {
    open(reg).verify_login(name, &Password::given(password.into())).unwrap().map(|a| a.role)
}

#[test]
fn accounts_are_added_changed_and_disabled_from_the_command_line_and_no_password_is_kept() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (c, out, err) = user(&["list", s(&reg)], "");
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("add the first admin"), "{out}");

    let (c, out, err) =
        user(&["add", s(&reg), "wang.li", "--role", "admin", "--full-name", "王丽"], &format!("{SECRET}\n"));
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("wang.li") && out.contains("管理员") && !out.contains(SECRET), "{out}");
    let (c, _, err) = user(&["add", s(&reg), "zhao", "--role", "registrar", "--full-name", "赵强"], "qiang-secret-1\n");
    assert_eq!(c, 0, "{err}");

    assert_eq!(login(&reg, "wang.li", SECRET), Some(Role::Admin));
    assert_eq!(login(&reg, "wang.li", "correct horse battery staple"), None);
    assert_eq!(login(&reg, "nobody", SECRET), None);

    // the password is nowhere in the file, and no listing shows its hash
    let bytes = std::fs::read(&reg).unwrap();
    assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    let (c, json, _) = user(&["list", s(&reg), "--format", "json"], "");
    assert_eq!(c, 0);
    assert!(!json.contains("argon2") && !json.contains(SECRET), "{json}");
    let listed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["wang.li", "zhao"]);
    assert_eq!(listed[1]["role"], "registrar");
    assert!(count(&reg, "SELECT count(*) FROM nr_accounts WHERE password_hash LIKE '$argon2id$%'") == 2);

    // role, password, disable, enable: each takes effect and moves the generation on
    let generation = |name: &str| open(&reg).account(name).unwrap().unwrap().generation;
    let g0 = generation("zhao");
    assert_eq!(user(&["role", s(&reg), "zhao", "reviewer"], "").0, 0);
    assert_eq!(login(&reg, "zhao", "qiang-secret-1"), Some(Role::Reviewer));
    assert_eq!(user(&["passwd", s(&reg), "zhao"], "qiang-secret-two\n").0, 0);
    assert_eq!(login(&reg, "zhao", "qiang-secret-1"), None);
    assert_eq!(login(&reg, "zhao", "qiang-secret-two"), Some(Role::Reviewer));
    assert_eq!(user(&["disable", s(&reg), "zhao"], "").0, 0);
    assert_eq!(login(&reg, "zhao", "qiang-secret-two"), None, "a disabled account logs in");
    assert_eq!(user(&["enable", s(&reg), "zhao"], "").0, 0);
    assert_eq!(login(&reg, "zhao", "qiang-secret-two"), Some(Role::Reviewer));
    assert_eq!(generation("zhao"), g0 + 4);
}

#[test]
fn bad_accounts_and_changes_are_refused_and_change_nothing() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    assert_eq!(
        user(&["add", s(&reg), "admin1", "--role", "admin", "--full-name", "管理"], "first-admin-secret\n").0,
        0
    );
    let refused = |args: &[&str], stdin: &str, why: &str| {
        let before = sha256(&reg);
        let (c, out, err) = user(args, stdin);
        assert_ne!(c, 0, "{args:?} was not refused: {out}");
        assert!(err.contains(why), "{args:?}: {err}");
        assert!(!err.contains(stdin.trim()) || stdin.trim().is_empty(), "{args:?} showed the password: {err}");
        assert_eq!(sha256(&reg), before, "{args:?} changed the registry");
    };
    let add = |name: &'static str, role: &'static str| ["add", s(&reg), name, "--role", role, "--full-name", "某人"];
    refused(&add("li", "root"), "long-enough-pw\n", "role 'root': not a role");
    refused(&add("Li Ming", "viewer"), "long-enough-pw\n", "account name 'Li Ming'");
    refused(&add("x';--", "viewer"), "long-enough-pw\n", "account name");
    refused(&add("li", "viewer"), "short\n", "at least 10 characters");
    refused(&add("liming", "viewer"), "my-name-is-liming\n", "must not contain the account name");
    refused(&add("admin1", "viewer"), "long-enough-pw\n", "the name is taken");
    // a short name may appear inside a password (any word holds "li"); a longer one may not
    assert_eq!(user(&add("li", "viewer"), "reliable-passphrase\n").0, 0);
    refused(&["add", s(&reg), "li", "--role", "viewer", "--full-name", "  "], "long-enough-pw\n", "full name");
    refused(&["passwd", s(&reg), "nobody"], "long-enough-pw\n", "no such account");
    refused(&["role", s(&reg), "nobody", "viewer"], "", "no such account");
    // the bureau never locks itself out: the last enabled admin keeps the role and cannot be disabled
    refused(&["disable", s(&reg), "admin1"], "", "last enabled admin");
    refused(&["role", s(&reg), "admin1", "viewer"], "", "last enabled admin");
    refused(&["enable", s(&reg), "admin1"], "", "not disabled");
    assert_eq!(user(&add("admin2", "admin"), "second-admin-secret\n").0, 0);
    assert_eq!(user(&["disable", s(&reg), "admin1"], "").0, 0);
    refused(&["disable", s(&reg), "admin1"], "", "already disabled");
    refused(&["disable", s(&reg), "admin2"], "", "last enabled admin");
}

#[test]
fn every_account_change_is_one_append_only_trail_row_and_the_hashes_chain() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let by = Actor { who: "tester".into(), origin: "127.0.0.1".into() };
    {
        let r = open(&reg);
        r.add_account("chen", "陈静", Role::Viewer, &Password::new("jing-secret-01".into(), "chen").unwrap(), &by)
            .unwrap();
        r.set_role("chen", Role::Auditor, &by).unwrap();
        r.set_password("chen", &Password::new("jing-secret-02".into(), "chen").unwrap(), &by).unwrap();
        r.disable_account("chen", &by).unwrap();
        assert!(r.set_role("nobody", Role::Viewer, &by).is_err());
    }
    assert_eq!(user(&["enable", s(&reg), "chen"], "").0, 0);
    let trail = open(&reg).trail().unwrap();
    let actions: Vec<&str> = trail.iter().map(|t| t.action.as_str()).collect();
    assert_eq!(actions, ["user.add", "user.role", "user.passwd", "user.disable", "user.enable"]);
    assert!(trail.iter().all(|t| t.target == "chen"));
    assert!(trail[..4].iter().all(|t| t.who == "tester" && t.origin == "127.0.0.1"));
    assert!(trail[4].who.starts_with("cli:"), "{:?}", trail[4]);
    assert_eq!(trail[1].detail, "role viewer → auditor");
    // each row's "before" is the previous row's "after", and each change changes the hash
    assert_eq!(trail[0].before, None);
    for w in trail.windows(2) {
        assert_eq!(w[1].before, w[0].after);
        assert_ne!(w[1].before, w[1].after);
    }
    assert!(!trail.iter().any(|t| t.detail.contains("jing-secret")));

    let (c, out, err) = run(&["info", s(&reg), "--trail"]);
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("user.passwd chen — password changed") && out.contains("tester from 127.0.0.1"), "{out}");

    // neither the trail nor the accounts can be rewritten behind the registry's back
    let conn = rusqlite::Connection::open(&reg).unwrap();
    for sql in [
        "UPDATE nr_trail SET who = 'someone else'",
        "DELETE FROM nr_trail",
        "DELETE FROM nr_accounts WHERE name = 'chen'",
    ] {
        let e = conn.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("nrledger:"), "{sql}: {e}");
    }
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_trail"), 5);
    // the GIS view of the file lists the trail, never the accounts
    let contents = count(&reg, "SELECT count(*) FROM gpkg_contents WHERE table_name = 'nr_accounts'");
    assert_eq!(contents, 0);
    assert_eq!(gpkg_conformance(&reg), "");
}

#[test]
fn the_first_admin_can_be_made_with_the_registry_and_a_refusal_leaves_no_file() {
    let d = tempfile::tempdir().unwrap();
    let init = |reg: &Path, admin: &str, stdin: &str| {
        let out = nrledger()
            .args(["init", s(reg), "--crs", "EPSG:4549", "--admin", admin, "--admin-name", "王丽"])
            .write_stdin(stdin)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let reg = d.path().join("r.gpkg");
    let (c, err) = init(&reg, "wang.li", "first-admin-secret\n");
    assert_eq!(c, 0, "{err}");
    assert_eq!(login(&reg, "wang.li", "first-admin-secret"), Some(Role::Admin));
    let trail = open(&reg).trail().unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!((trail[0].action.as_str(), trail[0].target.as_str()), ("user.add", "wang.li"));
    // a bad name or password is refused before the file is made
    for (name, pw, why) in [("Wang Li", "first-admin-secret\n", "account name"), ("wang.li", "short\n", "at least 10")]
    {
        let other = d.path().join("other.gpkg");
        let (c, err) = init(&other, name, pw);
        assert_ne!(c, 0);
        assert!(err.contains(why), "{err}");
        assert!(!other.exists(), "{name}: a registry was left behind");
    }
    // without --admin, no account at all
    std::fs::create_dir(d.path().join("plain")).unwrap();
    let plain = registry(&d.path().join("plain"));
    assert!(open(&plain).accounts().unwrap().is_empty());
}
