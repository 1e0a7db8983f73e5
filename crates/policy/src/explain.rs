//! `palisade policy explain`: for each key of a profile, what Palisade does with it. The table
//! is the promise the shipped profiles make ("every value here is enforced"): a test fails when
//! a key of either has no entry, and each entry names where the effect is tested.

use crate::{PolicyError, Profile};

/// One key of a profile file, its value as written, and what Palisade does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// The dotted key as written (`filtering.groups[2].block_categories`).
    pub key: String,
    /// The key with array positions and role names folded (`filtering.groups[].block_categories`).
    pub pattern: String,
    /// The value as TOML writes it (arrays and tables left out).
    pub value: String,
    /// What Palisade does with it; `None` is a bug in this table.
    pub effect: Option<&'static str>,
}

/// What each key does. `roles.*` is any role; `[]` any entry of an array of tables.
const EFFECTS: &[(&str, &str)] = &[
    (
        "school.name",
        "names the school on every page, the sign-in, mail, the filtering self-test certificate and the school CA",
    ),
    (
        "school.local_authority",
        "named on a concern that needs a referral to the Local Authority Designated Officer (LADO)",
    ),
    (
        "policy.title",
        "names the policy on the dashboard's review item and the documents register",
    ),
    (
        "policy.version",
        "the version of the policy the dashboard's review item is about until the documents register holds one",
    ),
    (
        "policy.written",
        "dates the policy on the dashboard's review item when the governors' approval is not given; `policy check` refuses a review date before it",
    ),
    (
        "policy.revised_by",
        "the role a new version of a policy or code is revised by, shown on the documents register",
    ),
    (
        "policy.approved_by_governors",
        "dates the governors' approval on the dashboard's review item; must not be after the review date",
    ),
    (
        "policy.next_review",
        "when the policy is due for review: due and overdue on the leaders' dashboards and the daily digest; `policy check` warns once it has passed",
    ),
    (
        "policy.review_group",
        "who reviews the policy, shown on the documents register",
    ),
    (
        "policy.review_every_months",
        "the review date of a new version of a policy or code entered without one",
    ),
    (
        "roles.*.title",
        "the role's name on every page, mail and form (e.g. Holt's \"Designated Safeguarding Lead\")",
    ),
    (
        "roles.*.holders",
        "the people the policy names as holding the role: `policy check --database-url` and the roles register name any who does not",
    ),
    (
        "roles.*.responsibilities",
        "listed against the role on the roles register",
    ),
    (
        "concerns.first_contact",
        "assigned every new concern on the general route, mailed at once when one is filed, and reads the pupils' alerts",
    ),
    (
        "concerns.team",
        "the roles that see and work the safeguarding queue and read the pupils' alerts and their mail",
    ),
    (
        "concerns.triage_within_hours",
        "a concern still untriaged this long after it was filed shows as overdue and is escalated with a high alert to `escalate_to` and the team",
    ),
    (
        "concerns.escalate_to",
        "the roles told, by an alert and its mail, of a concern untriaged past `triage_within_hours`",
    ),
    (
        "concerns.max_attachment_bytes",
        "the largest file a concern may carry; larger ones are refused with the limit named",
    ),
    (
        "concerns.about_staff.route_to",
        "the roles a concern about a member of staff (or another adult in a position of trust) goes to, and who reads the alerts about staff groups' traffic",
    ),
    (
        "concerns.about_staff.lado_required",
        "when true: a concern about staff cannot be closed before a LADO referral is recorded",
    ),
    (
        "concerns.about_headteacher.route_to",
        "the roles a concern about the Headteacher goes to, and who reads the alerts about the Headteacher's own traffic",
    ),
    (
        "concerns.about_headteacher.lado_required",
        "when true: a concern about the Headteacher cannot be closed before a LADO referral is recorded",
    ),
    (
        "concerns.fallback.route_to",
        "where a concern goes when everyone its route names is one of its subjects",
    ),
    (
        "concerns.fallback.lado_required",
        "when true: such a concern cannot be closed before a LADO referral is recorded",
    ),
    (
        "concerns.categories[].id",
        "a category a concern can be filed under (stored with it, and counted in reports)",
    ),
    (
        "concerns.categories[].label",
        "the category's wording on the staff and parent forms and the concern pages",
    ),
    (
        "concerns.categories[].pupil_label",
        "the category's wording on the pupils' form",
    ),
    (
        "concerns.sanctions[].id",
        "a sanction the team may record on a concern's timeline; others are refused",
    ),
    (
        "concerns.sanctions[].label",
        "the sanction's wording on the timeline",
    ),
    (
        "passwords.min_length",
        "new passwords shorter than this are refused",
    ),
    (
        "passwords.lockout_attempts",
        "failed sign-ins (web and proxy) that lock an account",
    ),
    (
        "passwords.lockout_minutes",
        "how long a locked account stays locked",
    ),
    (
        "passwords.session_idle_minutes",
        "a web session unused this long ends",
    ),
    (
        "passwords.staff_rotation_days",
        "staff passwords older than this must be changed before anything else (web and proxy)",
    ),
    (
        "passwords.rotation_applies_to",
        "the other systems the account page tells staff to change their password on, on the same cycle",
    ),
    (
        "passwords.totp_required_for",
        "holders of these roles sign in to the web app and the API with a code from an authenticator app (TOTP) after their password; until they have enrolled one they reach only /account/two-factor (the API answers 403), and they cannot turn it off",
    ),
    (
        "sign_in.oidc.provider",
        "labels the sign-in page's button (Sign in with Google or Microsoft); Microsoft's ID tokens may leave out email_verified",
    ),
    (
        "sign_in.oidc.issuer",
        "the OpenID Connect provider the button signs in through (authorization code with PKCE; its discovery document is read at the first sign-in, not at startup)",
    ),
    (
        "sign_in.oidc.client_id",
        "Palisade's client at the provider; ID tokens for any other audience are refused",
    ),
    (
        "sign_in.oidc.client_secret_file",
        "the file the client secret is read from at sign-in",
    ),
    (
        "sign_in.oidc.domains",
        "only verified email addresses of these domains sign in through the provider; others are refused",
    ),
    (
        "sign_in.oidc.redirect_url",
        "where the provider sends people back to, instead of an address made from the request",
    ),
    (
        "sign_in.password_for",
        "only people whose every role is listed may sign in with a Palisade password (web and API); everyone else uses the provider's button",
    ),
    (
        "guests.group",
        "the filtering group a guest signed in to the proxy is filtered as",
    ),
    (
        "guests.max_hours",
        "the longest a guest account may last; a longer one is refused",
    ),
    (
        "guests.created_by",
        "the roles that may make guest accounts (/people/guests)",
    ),
    (
        "leavers.checklist",
        "the items of a leaver's checklist (/people/{id}), ticked with who and when; the dashboard shows open checklists",
    ),
    (
        "retention.safeguarding_years_from_birth",
        "a pupil's concerns, alerts, access log and other records may be erased (by the data manager, on their subject access page) only once they have left and this many years have passed since their date of birth; a pupil with no date of birth is kept",
    ),
    (
        "retention.staff_years_after_leaving",
        "the records of staff, governors, visitors and parents with no child still on record may be erased this many years after they left; an allegation about an adult keeps theirs to pension age or 10 years from it (KCSIE)",
    ),
    (
        "backup.at",
        "the school's time (UK) `serve` makes the daily backup, verifies it and records it; a server started after it with none tried since makes it at once; a failure alerts the Headteacher and network manager (tests/it/backup_daily.rs)",
    ),
    (
        "backup.keep",
        "how many backup files are kept in backup.dir: older ones are deleted after each verified backup",
    ),
    (
        "backup.dir",
        "the folder the daily backups are written to (relative to the profile's folder)",
    ),
    (
        "backup.recipients",
        "the age public keys every daily backup is encrypted to; the private key stays with the school, off the server",
    ),
    (
        "backup.recipients_file",
        "a file of age public keys, one a line, every daily backup is encrypted to as well",
    ),
    (
        "consent.photo_renewal",
        "when photo consent must be asked again (on admission, or every school year); a consent past it counts as not given",
    ),
    (
        "consent.individual_for_high_profile",
        "when true: high-profile use of a pupil's image is a purpose of its own that consent must name (`publish-check --purpose high_profile`)",
    ),
    (
        "consent.names_with_photos",
        "whether a pupil's name may go with their photo when the parents agreed: the publish check flags names otherwise",
    ),
    (
        "consent.purposes",
        "the purposes consent is asked for, each given or refused on its own, and the purposes the publish check knows",
    ),
    (
        "code_of_conduct.staff",
        "\"sign\": staff see only the code of conduct until they have signed its current version; \"abide\": staff are asked to sign it and counted while they have not, but not held",
    ),
    (
        "code_of_conduct.discussed_each_year",
        "when true: pupils' and parents' sign-offs count for the school year they were made in only",
    ),
    (
        "code_of_conduct.issued_on_entry",
        "when true: pupils and parents are asked to sign the code and counted while they have not",
    ),
    (
        "code_of_conduct.aup_version",
        "the Acceptable Use Policy version the proxy's click-through and the sign-off register ask for",
    ),
    (
        "registers.data_processors",
        "when true: the school keeps the data processors register; when false it is hidden (404)",
    ),
    (
        "registers.filtering_senior_leader",
        "the senior leader responsible for filtering and monitoring: shown on the roles register and the annual review, and a dashboard item while nobody holds it",
    ),
    (
        "registers.filtering_governor",
        "the governor responsible for filtering and monitoring: shown on the roles register and the annual review, and a dashboard item while nobody holds it",
    ),
    (
        "training[].id",
        "a course of the training register, stored with each completion",
    ),
    (
        "training[].title",
        "the course's name on the register, the dashboard and the digest",
    ),
    (
        "training[].all_staff",
        "when true: every member of staff must complete the course",
    ),
    (
        "training[].roles",
        "the roles that must complete the course",
    ),
    (
        "training[].valid_months",
        "a completion expires this long after it: due, then overdue, on the dashboard",
    ),
    (
        "training[].at_induction",
        "when true: new staff must complete the course when they join",
    ),
    (
        "filtering.changes_by",
        "the only roles that may change the filtering (reviews, allow and block entries, reloads)",
    ),
    (
        "filtering.retention_days",
        "access-log rows older than this are rolled up into daily counts and deleted",
    ),
    (
        "filtering.lists[].name",
        "names the list in verdicts, the block page, the access log and the self-test",
    ),
    (
        "filtering.lists[].path",
        "the file or folder the list is read from (relative to the profile)",
    ),
    (
        "filtering.lists[].url",
        "an HTTPS address the list is fetched from and refreshed, the last good copy kept",
    ),
    (
        "filtering.lists[].format",
        "how the list is parsed (domains, hosts, adblock, ut1, rpz, urls)",
    ),
    (
        "filtering.lists[].category",
        "the category of every entry of the list",
    ),
    (
        "filtering.lists[].mandatory",
        "when true: the list blocks for every group, whatever its allow-list, and every hit is a critical alert",
    ),
    (
        "filtering.lists[].refresh_hours",
        "how often a `url` list is fetched again",
    ),
    (
        "filtering.groups[].name",
        "the filtering group, chosen by subnet, device or sign-in",
    ),
    (
        "filtering.groups[].description",
        "the group's description on the filtering pages",
    ),
    (
        "filtering.groups[].pupil",
        "when true: a pupil-level group: never answered unfiltered (fails closed), its blocks make alerts, and the self-test checks adult content for it",
    ),
    (
        "filtering.groups[].staff",
        "when true: a staff group: alerts about its traffic go to `concerns.about_staff.route_to`, not the safeguarding team",
    ),
    (
        "filtering.groups[].block_categories",
        "the categories blocked for the group (each one checked by the self-test)",
    ),
    (
        "filtering.groups[].allow",
        "names always allowed for the group (never over a mandatory list)",
    ),
    (
        "filtering.groups[].block",
        "names always blocked for the group",
    ),
    (
        "filtering.groups[].safesearch",
        "when true: Google, Bing and DuckDuckGo answered with their SafeSearch addresses (checked by the self-test)",
    ),
    (
        "filtering.groups[].youtube",
        "YouTube answered with its restricted-mode address (checked by the self-test)",
    ),
    (
        "filtering.groups[].time_rules[].allow_categories",
        "categories allowed for the group between `from` and `to`",
    ),
    (
        "filtering.groups[].time_rules[].from",
        "when the time rule starts (UK time)",
    ),
    (
        "filtering.groups[].time_rules[].to",
        "when the time rule ends (UK time)",
    ),
    (
        "monitoring.high_risk_categories",
        "a pupil's block in one of these is a high alert, mailed at once",
    ),
    (
        "monitoring.repeat_count",
        "this many blocked attempts within `repeat_minutes` make a medium alert",
    ),
    (
        "monitoring.repeat_minutes",
        "the window of the repeated-attempts rule",
    ),
    (
        "monitoring.aggregate_minutes",
        "hits of one rule by one person within this add to one alert",
    ),
    (
        "monitoring.low_for_other_blocks",
        "when true: a pupil's other blocks are low alerts for the daily digest",
    ),
    (
        "monitoring.digest_time",
        "when the daily digest and the weekly report are mailed (UK time)",
    ),
    (
        "monitoring.keywords[].name",
        "names the keyword list in alerts",
    ),
    (
        "monitoring.keywords[].path",
        "the file the keywords are read from",
    ),
    (
        "monitoring.keywords[].language",
        "the language of the list, shown in its alerts",
    ),
    (
        "monitoring.keywords[].severity",
        "the severity of an alert when a keyword of the list is searched for",
    ),
    (
        "network.default_group",
        "the group of a known client that no subnet or device names",
    ),
    (
        "network.subnets[].cidr",
        "addresses the DNS gateway and proxy answer, as the rule's group; others are refused",
    ),
    (
        "network.subnets[].group",
        "the group those addresses are filtered as",
    ),
    ("network.dns.listen", "where the DNS gateway listens"),
    (
        "network.dns.upstreams",
        "the resolvers allowed names are asked of",
    ),
    (
        "network.dns.tls_upstreams",
        "resolvers asked over DNS-over-TLS instead",
    ),
    (
        "network.dns.tls_ca_file",
        "the CA the DNS-over-TLS resolvers are checked against",
    ),
    (
        "network.dns.block_answer",
        "how a blocked name is answered (NXDOMAIN, or the block page's address)",
    ),
    (
        "network.dns.block_page_ipv4",
        "the block page's IPv4 address in blocked answers",
    ),
    (
        "network.dns.block_page_ipv6",
        "the block page's IPv6 address in blocked answers",
    ),
    (
        "network.dns.cache_entries",
        "how many answers the DNS gateway caches",
    ),
    (
        "network.dns.max_ttl_seconds",
        "the longest an answer is cached",
    ),
    ("network.proxy.listen", "where the web proxy listens"),
    (
        "network.proxy.advertise",
        "the proxy address /proxy.pac and /wpad.dat give browsers",
    ),
    (
        "network.proxy.direct",
        "names /proxy.pac sends direct, not through the proxy",
    ),
    (
        "network.proxy.header_timeout_seconds",
        "how long the proxy waits for a request's headers",
    ),
    (
        "network.proxy.max_header_bytes",
        "the largest request head the proxy reads",
    ),
    (
        "network.proxy.max_connections",
        "the most connections the proxy serves at once",
    ),
    (
        "network.proxy.inspect_groups",
        "groups whose HTTPS is inspected with the school CA (full addresses and searches filtered and logged)",
    ),
    (
        "network.proxy.inspect_exempt_categories",
        "categories never inspected",
    ),
    (
        "network.proxy.inspect_exempt_hosts",
        "names never inspected",
    ),
    ("network.proxy.ca_dir", "where the school CA is kept"),
    (
        "network.proxy.login_groups",
        "groups whose users must sign in to the proxy",
    ),
    (
        "network.proxy.staff_group",
        "the group staff are filtered as once signed in to the proxy",
    ),
    (
        "network.proxy.intranet_subnets",
        "private ranges the proxy may reach (all other private, loopback and own addresses are refused)",
    ),
    (
        "network.proxy.connect_ports",
        "the ports HTTPS tunnels may go to",
    ),
    (
        "network.proxy.allow_destinations",
        "single services the proxy reaches whatever their address or port",
    ),
];

/// The effect recorded for a folded key.
pub fn effect_of(pattern: &str) -> Option<&'static str> {
    EFFECTS.iter().find(|(k, _)| *k == pattern).map(|(_, e)| *e)
}

/// Every key of the profile `text` (which must be a valid profile), in key order, with what
/// Palisade does with it.
pub fn explain(text: &str, source: &str) -> Result<Vec<Explained>, PolicyError> {
    Profile::from_toml(text, source)?;
    let doc: toml::Table = toml::from_str(text).map_err(|e| PolicyError::ProfileSyntax {
        source_name: source.to_string(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    walk(&doc, "", "", &mut out);
    Ok(out)
}

fn walk(table: &toml::Table, key: &str, pattern: &str, out: &mut Vec<Explained>) {
    for (name, value) in table {
        let folded = if pattern == "roles" {
            "*"
        } else {
            name.as_str()
        };
        let key = join(key, name);
        let pattern = join(pattern, folded);
        match value {
            toml::Value::Table(t) => walk(t, &key, &pattern, out),
            toml::Value::Array(items)
                if items.iter().all(|v| v.is_table()) && !items.is_empty() =>
            {
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(t) = item {
                        walk(t, &format!("{key}[{i}]"), &format!("{pattern}[]"), out);
                    }
                }
            }
            v => out.push(Explained {
                effect: effect_of(&pattern),
                key,
                pattern,
                value: v.to_string(),
            }),
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> (String, String) {
        let path = format!("{}/../../profiles/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        (std::fs::read_to_string(&path).unwrap_or_default(), path)
    }

    #[test]
    fn every_key_of_both_shipped_profiles_has_an_effect() {
        for name in ["holt", "coleridge"] {
            let (text, path) = shipped(name);
            let keys = explain(&text, &path).unwrap_or_else(|e| panic!("{e}"));
            assert!(keys.len() > 80, "{name}: {} keys", keys.len());
            let missing: Vec<&str> = keys
                .iter()
                .filter(|k| k.effect.is_none())
                .map(|k| k.key.as_str())
                .collect();
            assert!(missing.is_empty(), "{name}: no effect for {missing:?}");
        }
    }

    #[test]
    fn keys_are_folded_over_roles_and_arrays_of_tables() {
        let (text, path) = shipped("coleridge");
        let keys = explain(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        let k = keys
            .iter()
            .find(|k| k.key == "filtering.groups[1].staff")
            .map(|k| (k.pattern.as_str(), k.value.as_str()));
        assert_eq!(k, Some(("filtering.groups[].staff", "true")));
        assert!(keys.iter().any(|k| k.pattern == "roles.*.title"));
    }

    #[test]
    fn an_invalid_profile_is_refused_rather_than_explained() {
        let (text, path) = shipped("holt");
        let broken = text.replace("[passwords]", "[passwords]\nnot_a_key = 1");
        assert!(explain(&broken, &path).is_err());
    }
}
