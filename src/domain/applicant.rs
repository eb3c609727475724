//! Applicants (申请人) and their personal data. ID numbers and phone numbers are validated here and
//! only ever shown masked; `Debug` is masked too, so a stray `{:?}` in a log line leaks nothing.

use serde::{Deserialize, Serialize};

use super::error::Invalid;

/// A resident identity number (公民身份号码, GB 11643-1999): 17 digits and a check character.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

impl IdNumber {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let text: String = raw.trim().to_uppercase();
        let bad = |message: &str| Invalid { field: "id_number".into(), message: message.into() };
        if text.chars().count() != 18 {
            return Err(bad("身份证号应为 18 位"));
        }
        let bytes = text.as_bytes();
        if !bytes[..17].iter().all(u8::is_ascii_digit) {
            return Err(bad("身份证号前 17 位应为数字"));
        }
        if bytes[17] != gb11643_check_char(&bytes[..17]) {
            return Err(bad("身份证号校验位不正确，请核对"));
        }
        Ok(Self(text))
    }

    /// First four and last four characters, e.g. `4210**********123X`.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }

    /// The full number: for the applicant's own receipt and the server's record, nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The GB 11643 check character: ISO 7064 MOD 11-2 over the first 17 digits.
fn gb11643_check_char(digits: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

impl TryFrom<String> for IdNumber {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IdNumber> for String {
    fn from(value: IdNumber) -> Self {
        value.0
    }
}

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// A mainland mobile or landline number.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let text: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if (7..=12).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text))
        } else {
            Err(Invalid { field: "phone".into(), message: "电话号码应为 7 至 12 位数字".into() })
        }
    }

    /// Keeps the first three and last four digits: `138****5678`.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        // Mobile numbers keep 3 + 4 digits; short landlines only their last four.
        let keep_head = 3.min(n.saturating_sub(8));
        format!("{}{}{}", &self.0[..keep_head], "*".repeat(n - keep_head - 4), &self.0[n - 4..])
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// The person a case is for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    pub name: String,
    pub id_number: IdNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
}

impl Applicant {
    /// The name with all but the first character masked: 张**.
    pub fn masked_name(&self) -> String {
        let mut chars = self.name.chars();
        match chars.next() {
            Some(first) => format!("{first}{}", "*".repeat(chars.count())),
            None => String::new(),
        }
    }
}

impl std::fmt::Debug for Applicant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applicant")
            .field("name", &self.masked_name())
            .field("id_number", &self.id_number)
            .field("phone", &self.phone)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_accepts_valid_numbers() {
        // Published GB 11643 example and a number ending in X.
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("440524188001010014").is_ok());
        assert!(IdNumber::parse("11010519491231002x").is_ok(), "lower-case x is accepted");
    }

    #[test]
    fn check_digit_rejects_wrong_numbers() {
        assert_eq!(IdNumber::parse("110105194912310021").unwrap_err().message, "身份证号校验位不正确，请核对");
        assert!(IdNumber::parse("1101051949123100").is_err());
        assert!(IdNumber::parse("11010519491231002Ｘ").is_err(), "full-width X is not a digit");
        assert!(IdNumber::parse("A1010519491231002X").is_err());
    }

    #[test]
    fn masking_hides_the_middle() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.masked(), "1101**********002X");
        assert!(!format!("{id:?}").contains("19491231"));
        let phone = Phone::parse("138 1234 5678").unwrap();
        assert_eq!(phone.masked(), "138****5678");
        let applicant = Applicant { name: "张三丰".into(), id_number: id, phone: Some(phone) };
        assert_eq!(applicant.masked_name(), "张**");
        let debug = format!("{applicant:?}");
        assert!(!debug.contains("三丰") && !debug.contains("12345678"), "{debug}");
    }

    #[test]
    fn short_phone_masks_without_panic() {
        assert_eq!(Phone::parse("1234567").unwrap().masked(), "***4567");
    }
}
