//! Category names and their bits. Each list's category takes one bit (at most
//! [`MAX_CATEGORIES`] in one set) and a mandatory list's bit is marked. The index of names keeps
//! one set and the proxy's URL and keyword layers another, so that schools whose name lists are
//! the same can share one index whatever keyword lists each adds.

use crate::FilterError;

/// Most categories one set can hold (a bit each).
pub const MAX_CATEGORIES: usize = 64;

/// Category names in bit order, and which bits are mandatory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Categories {
    names: Vec<String>,
    mandatory: u64,
}

impl Categories {
    /// A set read back from a snapshot; `None` when it has too many names.
    pub(crate) fn from_parts(names: Vec<String>, mandatory: u64) -> Option<Categories> {
        (names.len() <= MAX_CATEGORIES).then_some(Categories { names, mandatory })
    }

    /// The bit of a category, adding it if new.
    pub fn add(&mut self, name: &str, mandatory: bool) -> Result<u64, FilterError> {
        let i = match self.names.iter().position(|c| c == name) {
            Some(i) => i,
            None => {
                if self.names.len() == MAX_CATEGORIES {
                    return Err(FilterError::TooManyCategories(name.to_string()));
                }
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        };
        let bit = 1u64 << i;
        if mandatory {
            self.mandatory |= bit;
        }
        Ok(bit)
    }

    /// The name of the lowest category in `bits` (empty for none).
    pub fn name_of(&self, bits: u64) -> &str {
        if bits == 0 {
            return "";
        }
        self.names
            .get(bits.trailing_zeros() as usize)
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// The bits of the named categories (unknown names have none: nothing is listed under them).
    pub fn mask_of<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> u64 {
        names
            .into_iter()
            .filter_map(|n| self.names.iter().position(|c| c == n))
            .fold(0, |m, i| m | (1 << i))
    }

    /// The bits of mandatory lists' categories.
    pub fn mandatory(&self) -> u64 {
        self.mandatory
    }

    /// The names, in bit order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Bytes of heap the names hold.
    pub fn heap_bytes(&self) -> usize {
        self.names.iter().map(String::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_has_one_bit_and_mandatory_bits_are_marked() {
        let mut c = Categories::default();
        assert_eq!(c.add("adult", false).ok(), Some(1));
        assert_eq!(c.add("iwf", true).ok(), Some(2));
        assert_eq!(c.add("adult", false).ok(), Some(1));
        assert_eq!(c.mandatory(), 2);
        assert_eq!(c.mask_of(["iwf", "nowhere", "adult"]), 3);
        assert_eq!(c.name_of(2 | 4), "iwf");
        assert_eq!(c.name_of(0), "");
        for i in 2..MAX_CATEGORIES {
            assert!(c.add(&format!("c{i}"), false).is_ok());
        }
        assert!(matches!(
            c.add("one-too-many", false),
            Err(FilterError::TooManyCategories(n)) if n == "one-too-many"
        ));
    }
}
