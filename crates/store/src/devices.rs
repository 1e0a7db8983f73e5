//! The device register: school devices by IP or MAC address, who holds each and, where it
//! differs from its subnet's, the filtering group it belongs in. The gateways read it to name
//! the device and its holder in the access log. Every change is in the audit chain.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store, StoreError};
use policy::{Action, Permit, PolicyError, Target};
use sqlx::FromRow;
use std::net::IpAddr;

mod loans;
pub use loans::{DeviceReport, Loan, Management, REPORT_KINDS};

/// What the register's form sends, checked by [`NewDevice::check`].
#[derive(Debug, Clone, Default)]
pub struct NewDevice {
    pub name: String,
    pub ip: String,
    pub mac: String,
    /// The holder's user name; empty for a shared device.
    pub holder: String,
    /// The filtering group; empty to follow the subnet's.
    pub group_name: String,
}

/// A device in the register, with its holder's user name.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct Device {
    pub id: i64,
    pub name: String,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub holder_id: Option<i64>,
    pub holder_username: Option<String>,
    pub holder_name: Option<String>,
    pub group_name: Option<String>,
    pub added_at: String,
    /// The MDM it is enrolled in, if any, and when that last saw it.
    pub mdm: Option<String>,
    pub mdm_last_seen: Option<String>,
    pub passcode_set: i64,
    pub school_account: Option<String>,
}

fn invalid(field: &str, message: &str) -> StoreError {
    StoreError::Invalid(PolicyError::invalid(field, message))
}

/// A MAC address in the register's form (`aa:bb:cc:dd:ee:ff`), from any common spelling.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let hex: String = mac
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    Some(
        (0..6)
            .map(|i| &hex[i * 2..i * 2 + 2])
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// A device's checked fields: (name, ip, mac).
type Checked = (String, Option<String>, Option<String>);

impl NewDevice {
    /// Checks the fields that need no database, naming the first that is wrong.
    pub fn check(&self) -> Result<Checked> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid(
                "name",
                "give the device a name of 1 to 100 characters",
            ));
        }
        let ip = match self.ip.trim() {
            "" => None,
            s => Some(
                s.parse::<IpAddr>()
                    .map_err(|_| invalid("ip", "is not an IPv4 or IPv6 address"))?
                    .to_string(),
            ),
        };
        let mac =
            match self.mac.trim() {
                "" => None,
                s => Some(normalize_mac(s).ok_or_else(|| {
                    invalid("mac", "is not a MAC address (six pairs of hex digits)")
                })?),
            };
        if ip.is_none() && mac.is_none() {
            return Err(invalid(
                "ip",
                "give an IP or a MAC address to recognise the device by",
            ));
        }
        Ok((name.to_string(), ip, mac))
    }
}

const DEVICE_SELECT: &str = "SELECT d.id, d.name, d.ip, d.mac, d.holder_id, \
     p.username AS holder_username, p.display_name AS holder_name, d.group_name, d.added_at, \
     d.mdm, d.mdm_last_seen, d.passcode_set, d.school_account \
     FROM devices d LEFT JOIN people p ON p.id = d.holder_id \
     WHERE d.retired_at IS NULL";

impl Store {
    /// Adds a device to the register; `groups` are the profile's filtering groups. Returns its id.
    pub async fn add_device(
        &self,
        permit: &Permit,
        new: &NewDevice,
        groups: &[String],
    ) -> Result<i64> {
        let actor = check(permit, Action::ManageDevices, Target::School)?;
        let (name, ip, mac) = new.check()?;
        let group = match new.group_name.trim() {
            "" => None,
            g if groups.iter().any(|x| x == g) => Some(g.to_string()),
            _ => {
                return Err(invalid(
                    "group",
                    "is not one of the profile's filtering groups",
                ));
            }
        };
        let holder = match new.holder.trim() {
            "" => None,
            u => Some(
                self.person_by_username(u)
                    .await?
                    .ok_or_else(|| invalid("holder", "is nobody's user name"))?,
            ),
        };
        let mut tx = self.begin_write().await?;
        let clash: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM devices WHERE retired_at IS NULL AND (name = $1 OR ip = $2 OR mac = $3)",
        )
        .bind(&name)
        .bind(&ip)
        .bind(&mac)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((other,)) = clash {
            return Err(invalid(
                "name",
                &format!("the device `{other}` already has this name or address"),
            ));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO devices (name, ip, mac, holder_id, group_name, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&name)
        .bind(&ip)
        .bind(&mac)
        .bind(holder.as_ref().map(|h| h.id))
        .bind(&group)
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::DeviceAdded {
            id,
            name: &name,
            ip: ip.as_deref(),
            mac: mac.as_deref(),
            holder: holder.as_ref().map(|h| h.id),
            group: group.as_deref(),
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The devices in the register, by name.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{DEVICE_SELECT} ORDER BY d.name"
        )))
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Takes a device out of the register (returned, lost, replaced), keeping it on record.
    pub async fn retire_device(&self, permit: &Permit, id: i64, why: &str) -> Result<()> {
        let actor = check(permit, Action::ManageDevices, Target::School)?;
        let why = why.trim();
        if why.is_empty() || why.chars().count() > 2000 {
            return Err(invalid("reason", "say why, in at most 2000 characters"));
        }
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE devices SET retired_by = $1, retired_at = $2 WHERE id = $3 AND retired_at IS NULL",
        )
        .bind(actor.person_id)
        .bind(self.now())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound {
                what: format!("device {id}"),
            });
        }
        let what = AuditAction::DeviceRetired { id, why };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn mac_addresses_are_read_in_every_common_spelling() {
        for m in [
            "AA:BB:CC:00:11:22",
            "aa-bb-cc-00-11-22",
            "aabb.cc00.1122",
            "aabbcc001122",
        ] {
            assert_eq!(
                normalize_mac(m).as_deref(),
                Some("aa:bb:cc:00:11:22"),
                "{m}"
            );
        }
        assert_eq!(normalize_mac("aa:bb:cc:00:11"), None);
        assert_eq!(normalize_mac("zz:bb:cc:00:11:22"), None);
    }

    #[test]
    fn a_device_needs_a_name_and_an_address() {
        let ok = NewDevice {
            name: " iPad 7 ".into(),
            ip: "10.1.2.3".into(),
            ..NewDevice::default()
        };
        assert_eq!(
            ok.check().unwrap(),
            ("iPad 7".into(), Some("10.1.2.3".into()), None)
        );
        let field = |d: NewDevice| match d.check() {
            Err(StoreError::Invalid(e)) => e.to_string(),
            other => format!("{other:?}"),
        };
        assert!(
            field(NewDevice {
                ip: "10.1.2.3".into(),
                ..NewDevice::default()
            })
            .contains("name")
        );
        assert!(
            field(NewDevice {
                name: "x".into(),
                ..NewDevice::default()
            })
            .contains("ip")
        );
        assert!(
            field(NewDevice {
                name: "x".into(),
                ip: "10.1.2".into(),
                ..NewDevice::default()
            })
            .contains("ip")
        );
        assert!(
            field(NewDevice {
                name: "x".into(),
                mac: "nope".into(),
                ..NewDevice::default()
            })
            .contains("mac")
        );
    }
}
