//! A scenario file: its format, its checks on load, and the expansion of roles into instances.

use anyhow::{Context, Result, bail};
use regex::Regex;
use serde::Deserialize;
use std::path::Path;

/// One scenario, as written in `workshop/scenarios/NAME.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// One line for `workshop list` and the run's header.
    pub title: String,
    /// The guide's chapter; 0 for examples from outside its chapters (CZMQ's security ones).
    pub chapter: u32,
    /// The run ends at this time at the latest.
    pub end_ms: u64,
    /// The run ends as soon as every instance of these roles has exited (and `end_ms` is a bound).
    #[serde(default)]
    pub end_when_exited: Vec<String>,
    /// Test hosts (network namespaces) for the roles with a `host`; needs root and `ip`.
    #[serde(default)]
    pub network: Option<Network>,
    /// The programs; each starts at 0 ms unless the timeline starts it.
    #[serde(rename = "role")]
    pub roles: Vec<Role>,
    /// What happens when.
    #[serde(default, rename = "timeline")]
    pub timeline: Vec<Event>,
    /// What must hold at the end.
    #[serde(default, rename = "check")]
    pub checks: Vec<Check>,
    /// What the run counts from its programs' output, shown in the summary.
    #[serde(default, rename = "count")]
    pub counts: Vec<Count>,
    /// The chapter's promise in a few words ("every request answered once"): the summary says
    /// `promise held: ...` when every check holds, `promise broken: ...` when one fails.
    #[serde(default)]
    pub promise: Option<String>,
}

/// The `[network]` of a scenario: how its hosts are connected.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Only `lan` so far.
    pub kind: NetworkKind,
}

/// How the hosts of a `[network]` are connected.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NetworkKind {
    /// Every host on one bridge, one /24, broadcast reaches them all.
    Lan,
}

/// One number of the summary: counted from a role's output, or computed from earlier counts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Count {
    /// `sent`, `answered`, `retried`, `lost`, `duplicated`, or any one word.
    pub name: String,
    /// The role (all its instances together) or instance whose output is counted.
    #[serde(default)]
    pub role: Option<String>,
    /// A regex for lines of its output (stdout and stderr); `distinct`, `repeated` and `sum`
    /// look at its first group.
    #[serde(default)]
    pub matches: Option<String>,
    /// How matching lines are counted (default `lines`).
    #[serde(default)]
    pub kind: CountKind,
    /// Instead of `role` and `matches`: earlier counts added and subtracted, `sent - answered`.
    #[serde(default)]
    pub expr: Option<String>,
}

/// How a count counts the lines its regex matches.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum CountKind {
    /// Every matching line.
    #[default]
    Lines,
    /// The different values of the first group (request 3 answered twice counts once).
    Distinct,
    /// Matching lines whose first group was seen before (a duplicate: request 3 again).
    Repeated,
    /// The first group's numbers added up (`^(\d+) requests/replies processed`).
    Sum,
}

/// One kind of program in a scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// `broker`; with `count` > 1 the instances are `worker-1`, `worker-2`, ...
    pub name: String,
    /// A binary of zguide-examples.
    pub bin: String,
    /// Its arguments; `{port}`, `{port+N}`, `{i}` (instance number), `{dir}` (a directory of
    /// this run, empty at its start and removed at its end) and `{host:NAME}` (the address of
    /// a host of the `[network]`) are filled in.
    #[serde(default)]
    pub args: Vec<String>,
    /// How many of this role.
    #[serde(default = "one")]
    pub count: u32,
    /// Environment variables for it, `{ RUST_LOG = "zmq_patterns::mdp=debug" }`.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// The test host (of the `[network]`) it runs on; all its instances run there. Without
    /// one it runs on the machine itself.
    #[serde(default)]
    pub host: Option<String>,
}

fn one() -> u32 {
    1
}

/// One step of the timeline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When, from the start of the run.
    pub at_ms: u64,
    /// What.
    pub action: Action,
    /// On which role (all its instances) or instance (`worker-2`); not for `unplug`, `plug`.
    #[serde(default)]
    pub role: String,
    /// For `unplug` and `plug`: the host.
    #[serde(default)]
    pub host: Option<String>,
    /// For `type`: the line typed on the role's stdin (a newline is added).
    #[serde(default)]
    pub text: Option<String>,
}

/// What a timeline step does.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Start it (a role the timeline starts does not start at 0 ms).
    Start,
    /// SIGKILL: a crash.
    Kill,
    /// SIGSTOP: frozen, its peers see silence.
    Stop,
    /// SIGCONT: thawed.
    Cont,
    /// SIGKILL if running, then start again.
    Restart,
    /// Type `text` and Enter on its stdin.
    Type,
    /// Takes `host` off the network: its port on the bridge goes down (its own interface
    /// stays up, with no carrier).
    Unplug,
    /// Puts `host` back on the network.
    Plug,
}

impl Action {
    /// Whether it acts on a host rather than a role.
    pub fn on_host(self) -> bool {
        matches!(self, Action::Unplug | Action::Plug)
    }
}

/// One check on the run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The role (all its instances together) or instance it looks at (not with `count`).
    #[serde(default)]
    pub role: String,
    /// A count of the summary that must be within `at_least` (default 0 here) and `at_most`.
    #[serde(default)]
    pub count: Option<String>,
    /// A regex that lines of its output (stdout and stderr) must match...
    #[serde(default)]
    pub contains: Option<String>,
    /// ...at least this many lines (default 1)...
    #[serde(default)]
    pub at_least: Option<u32>,
    /// ...and at most this many.
    #[serde(default)]
    pub at_most: Option<u32>,
    /// A regex that no line of its output may match.
    #[serde(default)]
    pub not_contains: Option<String>,
    /// The exit status each instance must have ended with, by itself, before the end.
    #[serde(default)]
    pub exit: Option<i32>,
}

impl Scenario {
    /// `chapter 4`, or where the examples come from when they are not in a chapter.
    pub fn source(&self) -> String {
        match self.chapter {
            0 => "outside the guide's chapters".to_string(),
            n => format!("chapter {n}"),
        }
    }

    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let scenario: Scenario =
            toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        scenario
            .validate()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(scenario)
    }

    /// The hosts the roles name, in the order they first appear (the first is host 1).
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for host in self.roles.iter().filter_map(|r| r.host.as_ref()) {
            if !hosts.contains(host) {
                hosts.push(host.clone());
            }
        }
        hosts
    }

    fn validate(&self) -> Result<()> {
        if self.roles.is_empty() {
            bail!("no [[role]]");
        }
        let hosts = self.hosts();
        if self.network.is_none() && !hosts.is_empty() {
            bail!("roles have a host but there is no [network]");
        }
        if self.network.is_some() && hosts.is_empty() {
            bail!("a [network] but no role has a host");
        }
        for host in &hosts {
            if !crate::hosts::valid_name(host) {
                bail!("host {host:?}: 1 to 8 letters and digits");
            }
        }
        if crate::hosts::address(hosts.len().saturating_sub(1)).is_none() {
            bail!("too many hosts");
        }
        let mut names = Vec::new();
        for role in &self.roles {
            if role.count == 0 {
                bail!("role {}: count must be at least 1", role.name);
            }
            if role.name.is_empty() || role.name.contains(char::is_whitespace) {
                bail!("role name {:?}: one word", role.name);
            }
            names.push(role.name.clone());
            for i in 1..=role.count {
                for arg in &role.args {
                    expand(arg, 0, i, "", &hosts).with_context(|| format!("role {}", role.name))?;
                }
            }
        }
        let instances: Vec<String> = self
            .instances(0, "")?
            .into_iter()
            .map(|i| i.label)
            .collect();
        let known = |target: &str| {
            names.iter().any(|n| n == target) || instances.iter().any(|n| n == target)
        };
        let mut seen = std::collections::HashSet::new();
        for label in &instances {
            if !seen.insert(label) {
                bail!("two instances are called {label}");
            }
        }
        for event in &self.timeline {
            if event.action.on_host() {
                match &event.host {
                    Some(host) if event.role.is_empty() && event.text.is_none() => {
                        if !hosts.contains(host) {
                            bail!("timeline at {} ms: no host {host}", event.at_ms);
                        }
                    }
                    _ => bail!(
                        "timeline at {} ms: {:?} takes a host, and no role or text",
                        event.at_ms,
                        event.action
                    ),
                }
                continue;
            }
            if event.host.is_some() {
                bail!(
                    "timeline at {} ms: `host` goes with unplug and plug, and only there",
                    event.at_ms
                );
            }
            if !known(&event.role) {
                bail!(
                    "timeline at {} ms: no role or instance {}",
                    event.at_ms,
                    event.role
                );
            }
            if (event.action == Action::Type) != event.text.is_some() {
                bail!(
                    "timeline at {} ms: `text` goes with action `type`, and only there",
                    event.at_ms
                );
            }
        }
        for name in &self.end_when_exited {
            if !known(name) {
                bail!("end_when_exited: no role or instance {name}");
            }
        }
        let mut counted: Vec<&str> = Vec::new();
        for count in &self.counts {
            let name = &count.name;
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                bail!("count {name:?}: one word");
            }
            if counted.contains(&name.as_str()) {
                bail!("two counts are called {name}");
            }
            match (&count.role, &count.matches, &count.expr) {
                (Some(role), Some(re), None) => {
                    if !known(role) {
                        bail!("count {name}: no role or instance {role}");
                    }
                    let regex = Regex::new(re).with_context(|| format!("count {name}"))?;
                    if count.kind != CountKind::Lines && regex.captures_len() < 2 {
                        bail!(
                            "count {name}: kind {:?} needs a (group) in the regex",
                            count.kind
                        );
                    }
                }
                (None, None, Some(expr)) => {
                    if count.kind != CountKind::Lines {
                        bail!("count {name}: kind goes with matches, not expr");
                    }
                    let known_counts = counted.clone();
                    parse_expr(expr)
                        .and_then(|terms| {
                            for (_, term) in &terms {
                                if !known_counts.contains(&term.as_str()) {
                                    bail!("{term} is not an earlier count");
                                }
                            }
                            Ok(())
                        })
                        .with_context(|| format!("count {name}: expr {expr:?}"))?;
                }
                _ => bail!("count {name}: either role and matches, or expr"),
            }
            counted.push(name);
        }
        for check in &self.checks {
            if let Some(count) = &check.count {
                if !check.role.is_empty() {
                    bail!("check on count {count}: a count has its own role, give none");
                }
                if !counted.contains(&count.as_str()) {
                    bail!("check: no count {count}");
                }
            } else if !known(&check.role) {
                bail!("check: no role or instance {:?}", check.role);
            }
            let kinds = [
                check.count.is_some(),
                check.contains.is_some(),
                check.not_contains.is_some(),
                check.exit.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                bail!(
                    "check on {}: one of count, contains, not_contains, exit",
                    check.role
                );
            }
            if (check.at_least.is_some() || check.at_most.is_some())
                && check.contains.is_none()
                && check.count.is_none()
            {
                bail!(
                    "check on {}: at_least/at_most go with contains or count",
                    check.role
                );
            }
            for re in [&check.contains, &check.not_contains].into_iter().flatten() {
                Regex::new(re).with_context(|| format!("check on {}", check.role))?;
            }
        }
        Ok(())
    }

    /// Every program the scenario runs, with its arguments for this port base and run directory.
    pub fn instances(&self, port_base: u16, dir: &str) -> Result<Vec<Instance>> {
        let hosts = self.hosts();
        let mut out = Vec::new();
        for role in &self.roles {
            for i in 1..=role.count {
                let label = if role.count == 1 {
                    role.name.clone()
                } else {
                    format!("{}-{i}", role.name)
                };
                let args = role
                    .args
                    .iter()
                    .map(|a| expand(a, port_base, i, dir, &hosts))
                    .collect::<Result<Vec<_>>>()?;
                out.push(Instance {
                    role: role.name.clone(),
                    label,
                    bin: role.bin.clone(),
                    args,
                    env: role.env.clone().into_iter().collect(),
                    host: role.host.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// One program of a scenario, its role expanded.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The role's name.
    pub role: String,
    /// The name in the output: the role's, or `role-N`.
    pub label: String,
    /// The binary's name.
    pub bin: String,
    /// Its arguments, placeholders filled in.
    pub args: Vec<String>,
    /// Its environment variables (beside the runner's own).
    pub env: Vec<(String, String)>,
    /// The test host it runs on, if any.
    pub host: Option<String>,
}

impl Instance {
    /// Whether a timeline step or check naming `target` means this instance.
    pub fn is(&self, target: &str) -> bool {
        self.role == target || self.label == target
    }
}

/// The terms of a count's `expr`: `sent - answered + x` is `[(1, sent), (-1, answered), (1, x)]`.
pub fn parse_expr(expr: &str) -> Result<Vec<(i64, String)>> {
    let mut terms = Vec::new();
    let mut sign = Some(1);
    for token in expr.split_whitespace() {
        match (token, sign) {
            ("+", None) => sign = Some(1),
            ("-", None) => sign = Some(-1),
            (name, Some(s)) if name.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                terms.push((s, name.to_string()));
                sign = None;
            }
            _ => bail!("want names between + and -, spaced: `sent - answered`"),
        }
    }
    if terms.is_empty() || sign.is_some() {
        bail!("want names between + and -, spaced: `sent - answered`");
    }
    Ok(terms)
}

/// A count's number from the lines of its role's output.
pub fn tally<'a>(kind: CountKind, regex: &Regex, lines: impl IntoIterator<Item = &'a str>) -> i64 {
    let mut seen = std::collections::HashSet::new();
    let mut n: i64 = 0;
    for line in lines {
        let Some(caps) = regex.captures(line) else {
            continue;
        };
        let group = caps.get(1).map_or("", |m| m.as_str());
        match kind {
            CountKind::Lines => n += 1,
            CountKind::Distinct => n += i64::from(seen.insert(group.to_string())),
            CountKind::Repeated => n += i64::from(!seen.insert(group.to_string())),
            CountKind::Sum => n = n.saturating_add(group.trim().parse::<i64>().unwrap_or(0)),
        }
    }
    n
}

/// Fills `{port}`, `{port+N}`, `{i}`, `{dir}` and `{host:NAME}` in one argument; `hosts` are
/// the scenario's, in order. `{}` stays as it is, for programs whose own flags are templates
/// (peering's `ipc://{}-cloud.ipc`).
fn expand(arg: &str, port_base: u16, i: u32, dir: &str, hosts: &[String]) -> Result<String> {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(len) = rest[open..].find('}') else {
            bail!("unclosed {{ in {arg:?}");
        };
        let name = &rest[open + 1..open + len];
        let value = match name {
            "port" => port_base.to_string(),
            "i" => i.to_string(),
            "dir" => dir.to_string(),
            "" => "{}".to_string(),
            _ if name.starts_with("host:") => {
                let host = &name["host:".len()..];
                hosts
                    .iter()
                    .position(|h| h == host)
                    .and_then(crate::hosts::address)
                    .with_context(|| format!("{{{name}}}: no role runs on a host {host:?}"))?
                    .to_string()
            }
            _ => match name
                .strip_prefix("port+")
                .and_then(|n| n.parse::<u16>().ok())
            {
                Some(n) => port_base
                    .checked_add(n)
                    .with_context(|| format!("{{{name}}} is past port 65535"))?
                    .to_string(),
                None => bail!(
                    "unknown placeholder {{{name}}} in {arg:?} (known: {{port}}, {{port+N}}, {{i}}, {{dir}}, {{host:NAME}})"
                ),
            },
        };
        out.push_str(&value);
        rest = &rest[open + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(
            expand("tcp://127.0.0.1:{port}", 7000, 1, "/d", &[]).unwrap(),
            "tcp://127.0.0.1:7000"
        );
        assert_eq!(
            expand("{port+2}/{i}", 7000, 3, "/d", &[]).unwrap(),
            "7002/3"
        );
        assert_eq!(expand("{dir}/f", 7000, 3, "/d", &[]).unwrap(), "/d/f");
        assert_eq!(
            expand("ipc://{dir}/{}-cloud.ipc", 7000, 3, "/d", &[]).unwrap(),
            "ipc:///d/{}-cloud.ipc"
        );
        assert!(expand("{nope}", 7000, 1, "", &[]).is_err());
        assert!(expand("{port", 7000, 1, "", &[]).is_err());
        assert!(expand("{port+1}", 65535, 1, "", &[]).is_err());
        let hosts = ["a".to_string(), "b".to_string()];
        assert_eq!(
            expand("tcp://{host:b}:{port}", 7000, 1, "", &hosts).unwrap(),
            "tcp://10.213.200.2:7000"
        );
        assert_eq!(
            expand("{host:a}", 0, 1, "", &hosts).unwrap(),
            "10.213.200.1"
        );
        assert!(expand("{host:c}", 0, 1, "", &hosts).is_err());
        assert!(expand("{host:}", 0, 1, "", &hosts).is_err());
    }

    #[test]
    fn a_typo_is_an_error() {
        let bad = "title='t'\nchapter=1\nend_ms=1\n[[role]]\nname='a'\nbin='b'\nargz=[]\n";
        assert!(toml::from_str::<Scenario>(bad).is_err());
        let unknown_role = "title='t'\nchapter=1\nend_ms=1\n[[role]]\nname='a'\nbin='b'\n\
                            [[check]]\nrole='c'\nexit=0\n";
        let s: Scenario = toml::from_str(unknown_role).unwrap();
        assert!(s.validate().is_err());
    }

    #[test]
    fn counting() {
        let lines = [
            "I: server replied OK (1)",
            "W: no response from server, retrying...",
            "I: server replied OK (2)",
            "I: server replied OK (2)",
            "I: server replied OK (3)",
            "I: server replied OK (2)",
            "3000 requests/replies processed",
            "12 requests/replies processed",
        ];
        let replied = Regex::new(r"^I: server replied OK \((\d+)\)").unwrap();
        assert_eq!(tally(CountKind::Lines, &replied, lines), 5);
        assert_eq!(tally(CountKind::Distinct, &replied, lines), 3);
        assert_eq!(tally(CountKind::Repeated, &replied, lines), 2);
        let processed = Regex::new(r"^(\d+) requests/replies processed").unwrap();
        assert_eq!(tally(CountKind::Sum, &processed, lines), 3012);
        let retry = Regex::new("retrying").unwrap();
        assert_eq!(tally(CountKind::Lines, &retry, lines), 1);
        assert_eq!(tally(CountKind::Repeated, &retry, []), 0);
    }

    #[test]
    fn count_expressions() {
        assert_eq!(
            parse_expr("sent - answered + x").unwrap(),
            [(1, "sent".into()), (-1, "answered".into()), (1, "x".into())]
        );
        for bad in [
            "",
            "sent -",
            "- sent",
            "sent answered",
            "sent-answered",
            "a * b",
        ] {
            assert!(parse_expr(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn counts_are_checked_on_load() {
        let head = "title='t'\nchapter=1\nend_ms=1\n[[role]]\nname='c'\nbin='b'\n";
        let ok = format!(
            "{head}[[count]]\nname='sent'\nrole='c'\nmatches='^s (\\d+)'\nkind='distinct'\n\
             [[count]]\nname='lost'\nexpr='sent - sent'\n[[check]]\ncount='lost'\nat_most=0\n"
        );
        let s: Scenario = toml::from_str(&ok).unwrap();
        s.validate().unwrap();
        for bad in [
            // a group is needed to tell requests apart
            "[[count]]\nname='a'\nrole='c'\nmatches='x'\nkind='repeated'\n",
            // a later or unknown count
            "[[count]]\nname='a'\nexpr='b'\n[[count]]\nname='b'\nrole='c'\nmatches='x'\n",
            // no such role
            "[[count]]\nname='a'\nrole='z'\nmatches='x'\n",
            // both kinds of count
            "[[count]]\nname='a'\nrole='c'\nmatches='x'\nexpr='a'\n",
            // a check on a count that does not exist, or with a role
            "[[check]]\ncount='a'\nat_most=0\n",
            "[[count]]\nname='a'\nrole='c'\nmatches='x'\n[[check]]\ncount='a'\nrole='c'\n",
        ] {
            let s: Scenario = toml::from_str(&format!("{head}{bad}")).unwrap();
            assert!(s.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_are_checked_on_load() {
        let head = "title='t'\nchapter=8\nend_ms=1\n";
        let ok = format!(
            "{head}[network]\nkind='lan'\n\
             [[role]]\nname='x'\nbin='b'\nhost='a'\nargs=['{{host:b}}']\n\
             [[role]]\nname='y'\nbin='b'\nhost='b'\n[[role]]\nname='z'\nbin='b'\nhost='a'\n\
             [[timeline]]\nat_ms=1\naction='unplug'\nhost='b'\n\
             [[timeline]]\nat_ms=2\naction='plug'\nhost='b'\n"
        );
        let s: Scenario = toml::from_str(&ok).unwrap();
        s.validate().unwrap();
        assert_eq!(s.hosts(), ["a", "b"]);
        let inst = s.instances(0, "").unwrap();
        assert_eq!(inst[0].args, ["10.213.200.2"]);
        assert_eq!(inst[0].host.as_deref(), Some("a"));
        let lan = "[network]\nkind='lan'\n";
        let on_a = "[[role]]\nname='x'\nbin='b'\nhost='a'\n";
        for bad in [
            // a host without a network, a network without hosts, an unknown kind
            on_a.to_string(),
            format!("{lan}[[role]]\nname='x'\nbin='b'\n"),
            format!("[network]\nkind='wan'\n{on_a}"),
            // a host name that cannot be a namespace's
            format!("{lan}[[role]]\nname='x'\nbin='b'\nhost='a-b'\n"),
            // an address of a host nobody runs on
            format!("{lan}{on_a}args=['{{host:b}}']\n"),
            // unplug without a host, with a role, of an unknown host; host on another action
            format!("{lan}{on_a}[[timeline]]\nat_ms=1\naction='unplug'\n"),
            format!("{lan}{on_a}[[timeline]]\nat_ms=1\naction='unplug'\nhost='a'\nrole='x'\n"),
            format!("{lan}{on_a}[[timeline]]\nat_ms=1\naction='plug'\nhost='b'\n"),
            format!("{lan}{on_a}[[timeline]]\nat_ms=1\naction='kill'\nrole='x'\nhost='a'\n"),
        ] {
            let text = format!("{head}{bad}");
            let parsed = toml::from_str::<Scenario>(&text);
            assert!(
                parsed.is_err() || parsed.unwrap().validate().is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn counted_roles_are_numbered() {
        let text = "title='t'\nchapter=1\nend_ms=1\n[[role]]\nname='w'\nbin='b'\ncount=2\n\
                    args=['{port+1}','{i}']\n";
        let s: Scenario = toml::from_str(text).unwrap();
        s.validate().unwrap();
        let inst = s.instances(100, "").unwrap();
        assert_eq!(inst[1].label, "w-2");
        assert_eq!(inst[1].args, ["101", "2"]);
        assert!(inst[1].is("w") && inst[1].is("w-2") && !inst[1].is("w-1"));
    }
}
