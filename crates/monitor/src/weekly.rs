//! The weekly monitoring report (issue 19, part 4), as the DfE's filtering and monitoring
//! standard asks the DSL to get: for one week (Monday to Sunday), alerts by severity and by
//! rule, the alerts nobody has triaged, the most blocked categories by year group, and the
//! self-test's latest result per group. [`build`] turns the week's counts into the report and
//! [`weekly_mail`] into the mail, which carries counts and a link only: no names, no sites.
//! [`spawn_weekly_report`] sends it on Mondays at the profile's digest time, once a week.

use crate::pipeline::{AlertStore, AlertStoreError};
use chrono::{NaiveDate, TimeDelta};
use policy::{Profile, Role};
use std::sync::Arc;

/// What the store counted for one week: the report's raw material.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyFacts {
    /// The week's Monday.
    pub week: NaiveDate,
    /// Alerts first seen in the week, by severity.
    pub by_severity: Vec<(String, i64)>,
    /// Alerts first seen in the week, by rule (the category or keyword list that raised them).
    pub by_rule: Vec<(String, i64)>,
    /// Alerts still open (nobody has triaged them), however old.
    pub open_alerts: i64,
    /// Blocked requests in the week: (year group, category, requests).
    pub blocked: Vec<(String, String, i64)>,
    /// The self-test's latest run per group: (group, passed, when it ran).
    pub self_test: Vec<(String, bool, String)>,
}

/// One year group's blocked requests and its most blocked categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearGroupBlocks {
    pub year_group: String,
    pub total: i64,
    /// (category, requests), the most first, at most [`TOP_CATEGORIES`].
    pub top: Vec<(String, i64)>,
}

/// The weekly report, for the page and (as counts) the mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyReport {
    pub week: NaiveDate,
    /// The week's Sunday.
    pub week_end: NaiveDate,
    /// Every severity, the most severe first, with the week's alerts (zero where none).
    pub severities: Vec<(String, i64)>,
    pub alerts_total: i64,
    /// (rule, alerts), the most first.
    pub rules: Vec<(String, i64)>,
    pub open_alerts: i64,
    pub blocked_total: i64,
    /// Year groups, the most blocked first.
    pub year_groups: Vec<YearGroupBlocks>,
    pub self_test: Vec<(String, bool, String)>,
    pub self_test_failed: usize,
}

/// How many categories the report names per year group.
pub const TOP_CATEGORIES: usize = 5;

/// The severities, the most severe first.
const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// Who gets the weekly mail besides the profile's first point of contact: the DSL and deputies.
pub const WEEKLY_RECIPIENTS: [Role; 2] = [Role::Dsl, Role::DeputyDsl];

/// The report of `facts`.
pub fn build(facts: &WeeklyFacts) -> WeeklyReport {
    let count_of = |s: &str| {
        facts
            .by_severity
            .iter()
            .filter(|(k, _)| k == s)
            .map(|(_, n)| n)
            .sum::<i64>()
    };
    let mut severities: Vec<(String, i64)> = SEVERITIES
        .iter()
        .map(|s| (s.to_string(), count_of(s)))
        .collect();
    // A severity the store knows and this list does not is still counted.
    for (s, n) in &facts.by_severity {
        if !SEVERITIES.contains(&s.as_str()) {
            severities.push((s.clone(), *n));
        }
    }
    let mut rules = facts.by_rule.clone();
    rules.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut groups: std::collections::BTreeMap<&str, Vec<(String, i64)>> =
        std::collections::BTreeMap::new();
    for (year, category, n) in &facts.blocked {
        let cats = groups.entry(year.as_str()).or_default();
        let name = if category.is_empty() {
            "uncategorised".to_string()
        } else {
            category.clone()
        };
        match cats.iter_mut().find(|(c, _)| *c == name) {
            Some((_, m)) => *m += n,
            None => cats.push((name, *n)),
        }
    }
    let mut year_groups: Vec<YearGroupBlocks> = groups
        .into_iter()
        .map(|(year, mut cats)| {
            cats.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let total = cats.iter().map(|(_, n)| n).sum();
            cats.truncate(TOP_CATEGORIES);
            YearGroupBlocks {
                year_group: year.to_string(),
                total,
                top: cats,
            }
        })
        .collect();
    year_groups.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then_with(|| a.year_group.cmp(&b.year_group))
    });
    WeeklyReport {
        week: facts.week,
        week_end: facts.week + TimeDelta::days(6),
        alerts_total: severities.iter().map(|(_, n)| n).sum(),
        severities,
        rules,
        open_alerts: facts.open_alerts,
        blocked_total: facts.blocked.iter().map(|(_, _, n)| n).sum(),
        year_groups,
        self_test_failed: facts.self_test.iter().filter(|(_, ok, _)| !ok).count(),
        self_test: facts.self_test.clone(),
    }
}

/// The page of the report of the week starting `week`.
pub fn report_link(web_url: &str, week: NaiveDate) -> String {
    format!(
        "{}/reports/weekly?week={week}",
        web_url.trim_end_matches('/')
    )
}

/// The weekly mail: counts only (alerts by severity, untriaged, blocked requests, self-test
/// groups failed) and a link to the page; no names, no sites, no search terms, no categories
/// by year group (mail travels outside the school).
pub fn weekly_mail(report: &WeeklyReport, web_url: &str) -> (String, String) {
    let mut body = format!(
        "Palisade's weekly monitoring report for {} to {}.\r\n\r\n\
         Alerts raised this week: {}.\r\n",
        report.week, report.week_end, report.alerts_total
    );
    for (severity, n) in &report.severities {
        body.push_str(&format!("  {severity}: {n}\r\n"));
    }
    body.push_str(&format!(
        "Alerts nobody has triaged yet: {}.\r\n\
         Blocked requests this week: {}.\r\n",
        report.open_alerts, report.blocked_total
    ));
    if report.self_test.is_empty() {
        body.push_str("Filtering self-test: no run recorded.\r\n");
    } else {
        body.push_str(&format!(
            "Filtering self-test: {} of {} group(s) failing.\r\n",
            report.self_test_failed,
            report.self_test.len()
        ));
    }
    body.push_str(&format!(
        "\r\nThe full report, by rule and by year group (you will be asked to sign in):\r\n{}\r\n",
        report_link(web_url, report.week)
    ));
    (
        format!(
            "[Palisade] Weekly monitoring report, week of {}: {} alert(s), {} untriaged",
            report.week, report.alerts_total, report.open_alerts
        ),
        body,
    )
}

/// The outbox kind of the weekly mail: that this week's went is read from the outbox.
pub const MAIL_KIND: &str = "weekly";

/// Starts the weekly report, if the profile sets a digest time: Mondays at that time (UK time),
/// the report of the week before to the DSL, the deputies and the first point of contact. The
/// outbox records that this week's went, so a restart sends no second one; a start later that
/// Monday sends it if it has not gone (see [`policy::weekly::weekly_mail`]).
pub fn spawn_weekly_report(
    profile: &Profile,
    store: Arc<dyn AlertStore>,
    web_url: &str,
    wake: Arc<tokio::sync::Notify>,
) {
    use policy::schedule::Daily;
    use policy::weekly::{last_full_week, week_bounds, week_of};
    let Some(minute) = profile.monitoring.digest_minute() else {
        return;
    };
    let web_url = web_url.to_string();
    let first_contact = profile.concerns.first_contact;
    const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(60);
    tokio::spawn(async move {
        loop {
            let now = store.now_utc();
            let today = clock::school_time(now).date_naive();
            let (week_start, _) = week_bounds(week_of(today));
            let sent = store
                .mail_queued_since(MAIL_KIND, &events::timestamp(week_start))
                .await
                .unwrap_or(true);
            let wait = match policy::weekly::weekly_mail(now, minute, sent) {
                Daily::Now => {
                    let week = last_full_week(today);
                    if let Err(e) =
                        queue_weekly_report(store.as_ref(), &web_url, week, first_contact).await
                    {
                        tracing::error!(error = %e, "the weekly report could not be queued");
                    }
                    wake.notify_one();
                    LOOK_AGAIN
                }
                Daily::At(due) => (due - now)
                    .to_std()
                    .map(|d| d + std::time::Duration::from_millis(5))
                    .unwrap_or_default()
                    .min(LOOK_AGAIN),
            };
            tokio::time::sleep(wait).await;
        }
    });
}

/// Queues the report of the week starting `week` to its readers, each once.
async fn queue_weekly_report(
    store: &dyn AlertStore,
    web_url: &str,
    week: NaiveDate,
    first_contact: Role,
) -> Result<(), AlertStoreError> {
    let facts = store.weekly_facts(week).await?;
    let (subject, body) = weekly_mail(&build(&facts), web_url);
    let mut roles = WEEKLY_RECIPIENTS.to_vec();
    if !roles.contains(&first_contact) {
        roles.push(first_contact);
    }
    let mut sent = Vec::new();
    for to in store.emails_of(&roles, None).await? {
        if sent.contains(&to) {
            continue;
        }
        store.enqueue_mail(&to, &subject, &body, MAIL_KIND).await?;
        sent.push(to);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn facts() -> WeeklyFacts {
        WeeklyFacts {
            week: day("2026-11-23"),
            by_severity: vec![("high".into(), 2), ("low".into(), 5)],
            by_rule: vec![
                ("category:gambling".into(), 5),
                ("category:self_harm".into(), 2),
            ],
            open_alerts: 3,
            blocked: vec![
                ("Year 5".into(), "gambling".into(), 9),
                ("Year 5".into(), "adult".into(), 4),
                ("Year 5".into(), String::new(), 1),
                ("Year 2".into(), "games".into(), 20),
            ],
            self_test: vec![
                ("ks2".into(), true, "2026-11-29T02:00:00Z".into()),
                ("staff".into(), false, "2026-11-29T02:00:00Z".into()),
            ],
        }
    }

    #[test]
    fn the_report_counts_every_severity_and_ranks_rules_and_year_groups() {
        let r = build(&facts());
        assert_eq!(r.week_end, day("2026-11-29"));
        assert_eq!(
            r.severities,
            vec![
                ("critical".to_string(), 0),
                ("high".to_string(), 2),
                ("medium".to_string(), 0),
                ("low".to_string(), 5)
            ]
        );
        assert_eq!(r.alerts_total, 7);
        assert_eq!(r.rules[0], ("category:gambling".to_string(), 5));
        assert_eq!(r.blocked_total, 34);
        assert_eq!(r.year_groups[0].year_group, "Year 2");
        assert_eq!(r.year_groups[1].total, 14);
        assert_eq!(
            r.year_groups[1].top,
            vec![
                ("gambling".to_string(), 9),
                ("adult".to_string(), 4),
                ("uncategorised".to_string(), 1)
            ]
        );
        assert_eq!(r.self_test_failed, 1);
    }

    #[test]
    fn a_year_group_names_at_most_five_categories() {
        let mut f = facts();
        f.blocked = (0..8)
            .map(|i| ("Year 7".to_string(), format!("cat{i}"), i64::from(i)))
            .collect();
        let r = build(&f);
        assert_eq!(r.year_groups[0].top.len(), TOP_CATEGORIES);
        assert_eq!(r.year_groups[0].top[0], ("cat7".to_string(), 7));
        assert_eq!(r.year_groups[0].total, 28);
    }

    #[test]
    fn the_mail_carries_counts_and_a_link_and_nothing_else() {
        let (subject, body) = weekly_mail(&build(&facts()), "http://palisade.test/");
        assert!(subject.contains("week of 2026-11-23"), "{subject}");
        assert!(subject.contains("7 alert(s), 3 untriaged"), "{subject}");
        assert!(body.contains("  high: 2\r\n") && body.contains("  critical: 0\r\n"));
        assert!(body.contains("Blocked requests this week: 34."), "{body}");
        assert!(body.contains("1 of 2 group(s) failing"), "{body}");
        assert!(body.contains("http://palisade.test/reports/weekly?week=2026-11-23"));
        // No rule, category, year group or group name travels in the mail.
        for secret in ["gambling", "self_harm", "Year 5", "Year 2", "ks2", "staff"] {
            assert!(!body.contains(secret), "{secret} in {body}");
            assert!(!subject.contains(secret), "{secret} in {subject}");
        }
    }

    #[test]
    fn a_week_without_a_self_test_says_so() {
        let mut f = facts();
        f.self_test.clear();
        let (_, body) = weekly_mail(&build(&f), "http://palisade.test");
        assert!(body.contains("no run recorded"), "{body}");
    }
}
