//! One set of gateways for the schools of a trust: each school has its own clients, filter,
//! device register and access log, and every client belongs to the school whose subnets hold
//! it (see [`SchoolMap`]). A single school is a trust of one.

use crate::GatewayError;
use policy::profile::network::{ClientMap, SchoolMap};
use std::net::IpAddr;
use std::sync::Arc;

/// What a gateway needs of one school to send it its clients.
pub trait Site {
    /// The school's subnets and groups.
    fn clients(&self) -> &ClientMap;
    /// Whether the school's device register holds a device at `ip`.
    fn has_device(&self, ip: IpAddr) -> bool;
}

/// The schools one gateway answers for, the first taking the clients no school's subnets hold
/// (the server itself, and for a school without subnets the private networks).
pub struct Sites<T> {
    members: Vec<Arc<T>>,
    map: SchoolMap,
}

impl<T: Site> Sites<T> {
    /// The schools in order, the first taking the clients no subnet names. Refused when there
    /// are none or when two schools' subnets overlap.
    pub fn new(members: Vec<Arc<T>>) -> Result<Sites<T>, GatewayError> {
        if members.is_empty() {
            return Err(GatewayError::NoNetwork);
        }
        let maps: Vec<&ClientMap> = members.iter().map(|m| m.clients()).collect();
        let map = SchoolMap::new(&maps).map_err(|o| GatewayError::Overlap {
            first: o.first,
            second: o.second,
        })?;
        Ok(Sites { members, map })
    }

    /// The school `ip` belongs to and its index: the one whose subnets hold it, else the one
    /// whose register has a device there, else the first.
    pub fn of(&self, ip: IpAddr) -> (usize, &Arc<T>) {
        let i = match self.members.as_slice() {
            [_] => 0,
            all => self
                .map
                .school_of(ip)
                .or_else(|| all.iter().position(|m| m.has_device(ip)))
                .unwrap_or(0),
        };
        match self.members.get(i) {
            Some(member) => (i, member),
            None => (0, self.first()),
        }
    }

    /// Every school, in order.
    pub fn all(&self) -> &[Arc<T>] {
        &self.members
    }

    /// The first school.
    pub fn first(&self) -> &Arc<T> {
        &self.members[0]
    }
}
