//! A minimal reader of the kernel's BTF, for one question: at which byte offset does a member
//! sit inside a struct? aya-obj parses BTF but does not expose member offsets, and aya-ebpf has
//! no CO-RE, so the loader resolves offsets here and hands them to the programs as constants.
use std::{collections::HashMap, path::Path};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BtfError {
    #[error("cannot read BTF from {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("BTF is malformed: {0}")]
    Malformed(&'static str),
    #[error("struct {0} is not in the kernel's BTF")]
    NoStruct(String),
    #[error("struct {strukt} has no member {member} in the kernel's BTF")]
    NoMember { strukt: String, member: String },
    #[error("enum value {0} is not in the kernel's BTF")]
    NoEnumValue(String),
    #[error("function {0} is not in the kernel's BTF")]
    NoFunction(String),
}

const MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

struct Member {
    name: u32,
    type_id: u32,
    bit_offset: u32,
}

struct Type {
    name: u32,
    kind: u32,
    /// For modifiers, typedefs and functions: the type they refer to.
    referent: u32,
    members: Vec<Member>,
    /// For function prototypes: the number of parameters.
    params: u32,
    /// For structs and unions: their size in bytes.
    size: u32,
}

pub struct Btf {
    strings: Vec<u8>,
    /// Index 0 is the void type; ids start at 1 as in the kernel.
    types: Vec<Type>,
    /// Structs and unions with members, by name.
    structs_by_name: HashMap<String, u32>,
    /// Enumerators (`READING_MODULE`, ...) and their values.
    enum_values: HashMap<String, i64>,
}

fn u16_at(data: &[u8], at: usize) -> Result<u16, BtfError> {
    data.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]])).ok_or(BtfError::Malformed("truncated"))
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, BtfError> {
    data.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or(BtfError::Malformed("truncated"))
}

impl Btf {
    pub fn from_file(path: &Path) -> Result<Self, BtfError> {
        let data = std::fs::read(path).map_err(|source| BtfError::Read { path: path.display().to_string(), source })?;
        Self::parse(&data)
    }

    pub fn parse(data: &[u8]) -> Result<Self, BtfError> {
        if u16_at(data, 0)? != MAGIC {
            return Err(BtfError::Malformed("bad magic (big-endian or not BTF)"));
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let type_off = u32_at(data, 8)? as usize;
        let type_len = u32_at(data, 12)? as usize;
        let str_off = u32_at(data, 16)? as usize;
        let str_len = u32_at(data, 20)? as usize;
        let types_data = data
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or(BtfError::Malformed("type section out of bounds"))?;
        let strings = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or(BtfError::Malformed("string section out of bounds"))?
            .to_vec();

        let mut types = vec![Type { name: 0, kind: 0, referent: 0, members: Vec::new(), params: 0, size: 0 }];
        let mut enum_values = HashMap::new();
        let mut at = 0;
        while at < types_data.len() {
            let name = u32_at(types_data, at)?;
            let info = u32_at(types_data, at + 4)?;
            let size_or_type = u32_at(types_data, at + 8)?;
            at += 12;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let kind_flag = info >> 31 == 1;
            let mut members = Vec::new();
            let extra = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION => {
                    for i in 0..vlen {
                        let m = at + i * 12;
                        let raw_offset = u32_at(types_data, m + 8)?;
                        members.push(Member {
                            name: u32_at(types_data, m)?,
                            type_id: u32_at(types_data, m + 4)?,
                            // With kind_flag the top 8 bits hold a bitfield size.
                            bit_offset: if kind_flag { raw_offset & 0xff_ffff } else { raw_offset },
                        });
                    }
                    vlen * 12
                }
                KIND_ENUM => {
                    for i in 0..vlen {
                        let e = at + i * 8;
                        let value = u32_at(types_data, e + 4)? as i32;
                        enum_values.insert(u32_at(types_data, e)?, i64::from(value));
                    }
                    vlen * 8
                }
                KIND_FUNC_PROTO => vlen * 8,
                KIND_DATASEC | KIND_ENUM64 => vlen * 12,
                _ => 0,
            };
            at += extra;
            let referent = match kind {
                KIND_PTR | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG | KIND_FUNC => {
                    size_or_type
                }
                _ => 0,
            };
            let params = if kind == KIND_FUNC_PROTO { vlen as u32 } else { 0 };
            let size = if kind == KIND_STRUCT || kind == KIND_UNION { size_or_type } else { 0 };
            types.push(Type { name, kind, referent, members, params, size });
        }

        let mut btf = Self { strings, types, structs_by_name: HashMap::new(), enum_values: HashMap::new() };
        for (id, ty) in btf.types.iter().enumerate() {
            if (ty.kind == KIND_STRUCT || ty.kind == KIND_UNION) && !ty.members.is_empty() {
                let name = btf.string(ty.name).to_owned();
                btf.structs_by_name.entry(name).or_insert(id as u32);
            }
        }
        btf.enum_values = enum_values.into_iter().map(|(name, value)| (btf.string(name).to_owned(), value)).collect();
        Ok(btf)
    }

    fn string(&self, offset: u32) -> &str {
        let tail = self.strings.get(offset as usize..).unwrap_or_default();
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        std::str::from_utf8(&tail[..end]).unwrap_or("")
    }

    /// Follows typedefs and qualifiers to the underlying type.
    fn resolve(&self, mut id: u32) -> Option<&Type> {
        for _ in 0..32 {
            let ty = self.types.get(id as usize)?;
            match ty.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => id = ty.referent,
                _ => return Some(ty),
            }
        }
        None
    }

    /// Byte offset of `member` in `struct strukt`, looking through anonymous structs and
    /// unions (where the kernel often hides members, e.g. `vm_area_struct.vm_flags` since 6.3).
    pub fn member_offset(&self, strukt: &str, member: &str) -> Result<u32, BtfError> {
        let id = *self.structs_by_name.get(strukt).ok_or_else(|| BtfError::NoStruct(strukt.to_owned()))?;
        self.find_member(id, member, 0)
            .map(|bits| bits / 8)
            .ok_or_else(|| BtfError::NoMember { strukt: strukt.to_owned(), member: member.to_owned() })
    }

    /// The size in bytes of `struct strukt`.
    pub fn struct_size(&self, strukt: &str) -> Result<u32, BtfError> {
        let id = *self.structs_by_name.get(strukt).ok_or_else(|| BtfError::NoStruct(strukt.to_owned()))?;
        Ok(self.types[id as usize].size)
    }

    /// Offset of a member reached through nested members: `path` = ["i_mmap", "rb_root", "rb_node"]
    /// inside `strukt`, each step naming a member of the previous one's type.
    pub fn nested_offset(&self, strukt: &str, path: &[&str]) -> Result<u32, BtfError> {
        let mut id = *self.structs_by_name.get(strukt).ok_or_else(|| BtfError::NoStruct(strukt.to_owned()))?;
        let mut bits = 0;
        for member in path {
            let no_member = || BtfError::NoMember { strukt: strukt.to_owned(), member: path.join(".") };
            let (offset, type_id) = self.find_member_typed(id, member, 0).ok_or_else(no_member)?;
            bits += offset;
            id = type_id;
        }
        Ok(bits / 8)
    }

    /// The number of parameters of a kernel function (for an LSM hook's BPF context, the index
    /// of the previous verdict that follows them).
    pub fn function_params(&self, name: &str) -> Result<u32, BtfError> {
        self.types
            .iter()
            .find(|t| t.kind == KIND_FUNC && self.string(t.name) == name)
            .and_then(|f| self.types.get(f.referent as usize))
            .filter(|proto| proto.kind == KIND_FUNC_PROTO)
            .map(|proto| proto.params)
            .ok_or_else(|| BtfError::NoFunction(name.to_owned()))
    }

    /// The value of an enumerator.
    pub fn enum_value(&self, name: &str) -> Result<i64, BtfError> {
        self.enum_values.get(name).copied().ok_or_else(|| BtfError::NoEnumValue(name.to_owned()))
    }

    fn find_member(&self, id: u32, member: &str, depth: u32) -> Option<u32> {
        self.find_member_typed(id, member, depth).map(|(bits, _)| bits)
    }

    /// Bit offset and type id of a member, looking through anonymous members.
    fn find_member_typed(&self, id: u32, member: &str, depth: u32) -> Option<(u32, u32)> {
        if depth > 8 {
            return None;
        }
        let ty = self.resolve(id)?;
        for m in &ty.members {
            if m.name == 0 {
                if let Some((inner, type_id)) = self.find_member_typed(m.type_id, member, depth + 1) {
                    return Some((m.bit_offset + inner, type_id));
                }
            } else if self.string(m.name) == member {
                return Some((m.bit_offset, m.type_id));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The running kernel's BTF is a real, large input; the offsets of a few members that have
    /// not moved in years are checked against values the kernel's own headers fix.
    #[test]
    fn reads_running_kernel_btf() {
        let path = Path::new("/sys/kernel/btf/vmlinux");
        if !path.exists() {
            return provgate_test_support::skip_or_fail("no /sys/kernel/btf/vmlinux on this machine");
        }
        let btf = Btf::from_file(path).unwrap();
        // list_head { next; prev; }
        assert_eq!(btf.member_offset("list_head", "next").unwrap(), 0);
        assert_eq!(btf.member_offset("list_head", "prev").unwrap(), 8);
        // timespec64 { time64_t tv_sec; long tv_nsec; }
        assert_eq!(btf.member_offset("timespec64", "tv_nsec").unwrap(), 8);
        // A member inside an anonymous union is found with its outer offset added.
        let vm_flags = btf.member_offset("vm_area_struct", "vm_flags").unwrap();
        assert!(vm_flags > 0);
        assert!(matches!(btf.member_offset("linux_binprm", "no_such_member"), Err(BtfError::NoMember { .. })));
        assert!(matches!(btf.member_offset("no_such_struct", "x"), Err(BtfError::NoStruct(_))));
        // Sizes the kernel's headers fix: two pointers each (rb_root_cached: a root and the leftmost).
        assert_eq!(btf.struct_size("list_head").unwrap(), 16);
        assert_eq!(btf.struct_size("rb_root_cached").unwrap(), 16);
        assert!(matches!(btf.struct_size("no_such_struct"), Err(BtfError::NoStruct(_))));
    }

    /// Enumerators, function prototypes and nested members, as the loader reads them.
    #[test]
    fn reads_enums_functions_and_nested_members() {
        let path = Path::new("/sys/kernel/btf/vmlinux");
        if !path.exists() {
            return provgate_test_support::skip_or_fail("no /sys/kernel/btf/vmlinux on this machine");
        }
        let btf = Btf::from_file(path).unwrap();
        let module = btf.enum_value("READING_MODULE").unwrap();
        assert!(module > btf.enum_value("READING_UNKNOWN").unwrap());
        assert!(matches!(btf.enum_value("NO_SUCH_ENUMERATOR"), Err(BtfError::NoEnumValue(_))));
        // bpf(int cmd, union bpf_attr *attr, unsigned int size[, bool kernel])
        assert!(matches!(btf.function_params("bpf_lsm_bpf").unwrap(), 3 | 4));
        assert_eq!(btf.function_params("bpf_lsm_bprm_check_security").unwrap(), 1);
        assert!(matches!(btf.function_params("no_such_function"), Err(BtfError::NoFunction(_))));
        // A path through nested structs adds up the offsets on the way.
        let nested = btf.nested_offset("address_space", &["i_mmap", "rb_root", "rb_node"]).unwrap();
        let i_mmap = btf.member_offset("address_space", "i_mmap").unwrap();
        assert_eq!(nested, i_mmap + btf.member_offset("rb_root_cached", "rb_root").unwrap());
        // Unions are found by name as structs are.
        assert!(btf.member_offset("bpf_attr", "map_id").is_ok());
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(Btf::parse(b"not btf at all....................."), Err(BtfError::Malformed(_))));
        assert!(matches!(Btf::parse(&[0x9f, 0xeb]), Err(BtfError::Malformed(_))));
    }
}
