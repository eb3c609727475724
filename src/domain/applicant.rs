//! Applicants (申请人) and their personal data. ID numbers and phone numbers are validated here and
//! only ever shown masked; `Debug` is masked too, so a stray `{:?}` in a log line leaks nothing.

use serde::{Deserialize, Serialize};

use super::error::Invalid;

/// A resident identity number (公民身份号码, GB 11643-1999): 17 digits and a check character,
/// the 7th to 14th the date of birth. Older documents (户口簿 entries, certificates issued before
/// 1999) still carry the 15-digit number of GB 11643-1989: 6 digits of area, YYMMDD of a birth
/// in the 1900s, 3 of sequence, no check character. It is kept as the applicant's document
/// carries it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

impl IdNumber {
    /// Checks what a clerk typed: length, digits, a real date of birth, the check character.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let text: String = raw.trim().to_uppercase();
        let bad = |message: &str| Invalid { field: "id_number".into(), message: message.into() };
        if !text.is_ascii() {
            return Err(bad("身份证号只能是数字和 X（请用半角）"));
        }
        let bytes = text.as_bytes();
        let birth = match bytes.len() {
            18 => {
                if !bytes[..17].iter().all(u8::is_ascii_digit) {
                    return Err(bad("身份证号前 17 位应为数字"));
                }
                &text[6..14]
            }
            15 => {
                if !bytes.iter().all(u8::is_ascii_digit) {
                    return Err(bad("15 位身份证号应全为数字"));
                }
                &format!("19{}", &text[6..12])
            }
            _ => return Err(bad("身份证号应为 18 位（旧证 15 位）")),
        };
        chrono::NaiveDate::parse_from_str(birth, "%Y%m%d")
            .ok()
            .filter(|d| chrono::Datelike::year(d) >= 1800)
            .ok_or_else(|| bad("身份证号中的出生日期不正确，请核对"))?;
        if bytes.len() == 18 && bytes[17] != gb11643_check_char(&bytes[..17]) {
            return Err(bad("身份证号校验位不正确，请核对"));
        }
        Ok(Self(text))
    }

    /// A number read back from a record: the rules it was checked by when it was written
    /// (length and check character), so a record saved under an older rule still loads.
    fn from_stored(text: String) -> Result<Self, Invalid> {
        let bytes = text.as_bytes();
        let ok = match bytes.len() {
            18 => bytes[..17].iter().all(u8::is_ascii_digit) && bytes[17] == gb11643_check_char(&bytes[..17]),
            15 => bytes.iter().all(u8::is_ascii_digit),
            _ => false,
        };
        if ok { Ok(Self(text)) } else { Self::parse(&text) }
    }

    /// Whether this is a 15-digit number of the older standard.
    pub fn is_legacy(&self) -> bool {
        self.0.len() == 15
    }

    /// First four and last four characters, e.g. `4210**********123X` (15 digits: seven
    /// stars).
    pub fn masked(&self) -> String {
        let n = self.0.len();
        format!("{}{}{}", &self.0[..4], "*".repeat(n - 8), &self.0[n - 4..])
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
        Self::from_stored(value)
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

/// A mainland mobile number (11 digits, 1 then 3-9) or a landline with its area code (0 and 2
/// or 3 more digits, then 7 or 8): 0710-1234567, 010 12345678. Spaces and dashes are dropped,
/// a leading +86 too.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let text: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let text = text.strip_prefix("+86").map(str::to_owned).unwrap_or(text);
        let digits = text.bytes().all(|b| b.is_ascii_digit());
        let mobile = text.len() == 11 && text.starts_with('1') && matches!(text.as_bytes()[1], b'3'..=b'9');
        // 0 + 2-3 digit area code + 7-8 digit number: 10 to 12 digits in all.
        let landline = (10..=12).contains(&text.len()) && text.starts_with('0') && !text.starts_with("00");
        if digits && (mobile || landline) {
            return Ok(Self(text));
        }
        let message = if digits && (7..=8).contains(&text.len()) {
            "座机号请加区号，如 0710-1234567"
        } else {
            "电话应为 11 位手机号，或带区号的座机号（如 0710-1234567）"
        };
        Err(Invalid { field: "phone".into(), message: message.into() })
    }

    /// A number read back from a record, checked as it was when written (7 to 12 digits).
    fn from_stored(text: String) -> Result<Self, Invalid> {
        if (7..=12).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text))
        } else {
            Self::parse(&text)
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
        Self::from_stored(value)
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
        mask_name(&self.name)
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

/// Someone applying for the applicant (代办人, clause 4.2.2.4: 帮办代办 for the elderly, the
/// disabled and whoever needs it): who they are and how they are related to the applicant.
/// Masked like the applicant wherever it is shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub name: String,
    pub id_number: IdNumber,
    /// 与申请人关系, e.g. 子女, 配偶, 村委会工作人员.
    pub relation: String,
}

/// The longest relation a clerk can type.
pub const MAX_RELATION_CHARS: usize = 20;

impl Agent {
    /// Checks what the clerk typed; every problem in one message.
    pub fn parse(name: &str, id_number: &str, relation: &str) -> Result<Self, Invalid> {
        let name = super::text::clean_line(name).trim().to_owned();
        let relation = super::text::clean_line(relation).trim().to_owned();
        let mut problems = Vec::new();
        if name.is_empty() || name.chars().count() > 30 {
            problems.push("代办人姓名应为 1 至 30 个字".to_owned());
        }
        let id_number = IdNumber::parse(id_number).map_err(|e| problems.push(format!("代办人{}", e.message))).ok();
        if relation.is_empty() || relation.chars().count() > MAX_RELATION_CHARS {
            problems.push(format!("请填写代办人与申请人的关系（至多 {MAX_RELATION_CHARS} 个字）"));
        }
        match id_number {
            Some(id_number) if problems.is_empty() => Ok(Self { name, id_number, relation }),
            _ => Err(Invalid { field: "agent".into(), message: problems.join("；") }),
        }
    }

    /// The name with all but the first character masked, as for the applicant.
    pub fn masked_name(&self) -> String {
        mask_name(&self.name)
    }
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.masked_name())
            .field("id_number", &self.id_number)
            .field("relation", &self.relation)
            .finish()
    }
}

fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count())),
        None => String::new(),
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
        // Only records written under the older, looser rule hold one this short.
        let stored: Phone = serde_json::from_value(serde_json::json!("1234567")).unwrap();
        assert_eq!(stored.masked(), "***4567");
    }

    #[test]
    fn the_date_of_birth_must_be_a_real_date() {
        // Check characters computed for each body, so only the date is wrong.
        let with_check = |body: &str| format!("{body}{}", gb11643_check_char(body.as_bytes()) as char);
        let month_13 = with_check("11010519491331002");
        let feb_30 = with_check("11010519490230002");
        let day_0 = with_check("11010519491200002");
        for bad in [&month_13, &feb_30, &day_0] {
            assert_eq!(IdNumber::parse(bad).unwrap_err().message, "身份证号中的出生日期不正确，请核对", "{bad}");
        }
        assert!(IdNumber::parse(&with_check("11010520000229002")).is_ok(), "2000 was a leap year");
    }

    #[test]
    fn fifteen_digit_numbers_of_old_documents_are_kept_as_they_are() {
        let old = IdNumber::parse("110105491231002").unwrap();
        assert!(old.is_legacy());
        assert_eq!(old.expose(), "110105491231002");
        assert_eq!(old.masked(), "1101*******1002");
        assert!(IdNumber::parse("110105491331002").is_err(), "month 13 in a 15-digit number");
        assert!(IdNumber::parse("11010549123100X").is_err(), "no check character in 15 digits");
        assert!(IdNumber::parse("1101054912310").is_err());
    }

    #[test]
    fn stored_numbers_load_under_the_rule_they_were_written_by() {
        // A month-13 number that passed the older check: its record must still load.
        let body = "11010519491331002";
        let old = format!("{body}{}", gb11643_check_char(body.as_bytes()) as char);
        let loaded: IdNumber = serde_json::from_value(serde_json::json!(old)).unwrap();
        assert_eq!(loaded.expose(), old);
    }

    #[test]
    fn phones_are_mobiles_or_landlines_with_an_area_code() {
        for ok in ["13812345678", "+86 138 1234 5678", "0710-1234567", "010 12345678", "0755-88889999"] {
            assert!(Phone::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Phone::parse("1234567").unwrap_err().message, "座机号请加区号，如 0710-1234567");
        for bad in ["12345678901", "1381234567", "138123456789", "001012345678", "0710-12345", "abc"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Phone::parse("0710-1234567").unwrap().masked(), "071****4567");
    }

    #[test]
    fn an_agent_needs_a_name_a_valid_id_and_a_relation() {
        let agent = Agent::parse(" 李四 ", "11010519491231002X", "子女").unwrap();
        assert_eq!(agent.masked_name(), "李*");
        assert!(!format!("{agent:?}").contains("李四") && !format!("{agent:?}").contains("19491231"));
        let e = Agent::parse("", "110105194912310021", "").unwrap_err().message;
        assert!(e.contains("姓名") && e.contains("校验位") && e.contains("关系"), "{e}");
    }
}
