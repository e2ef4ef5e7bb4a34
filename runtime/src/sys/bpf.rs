//! The `bpf(2)` calls behind cgroup v2 device control: load a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program, attach it to a cgroup, and find and detach the programs attached before.
//! libc carries none of the `bpf_attr` layouts, so the few used are declared here.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    /// Opcode.
    pub code: u8,
    /// Destination register in the low nibble, source register in the high one.
    pub regs: u8,
    /// Signed offset (jumps, memory).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
/// `union bpf_attr` is padded to this size here; the kernel takes the size we pass.
const ATTR_SIZE: usize = 128;

#[repr(C, align(8))]
struct Attr([u8; ATTR_SIZE]);

impl Attr {
    fn new() -> Attr {
        Attr([0; ATTR_SIZE])
    }
    fn put_u32(&mut self, offset: usize, value: u32) -> &mut Attr {
        self.0[offset..offset + 4].copy_from_slice(&value.to_ne_bytes());
        self
    }
    fn put_u64(&mut self, offset: usize, value: u64) -> &mut Attr {
        self.0[offset..offset + 8].copy_from_slice(&value.to_ne_bytes());
        self
    }
    fn get_u32(&self, offset: usize) -> u32 {
        u32::from_ne_bytes(self.0[offset..offset + 4].try_into().expect("4 bytes"))
    }
}

fn bpf(command: libc::c_long, attr: &mut Attr) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a zero-padded buffer of ATTR_SIZE bytes laid out as the command's
    // bpf_attr member; any pointers in it point to memory that outlives the call.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, command, attr as *mut Attr, ATTR_SIZE) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret)
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// Loads a cgroup device program. When the kernel refuses it, the verifier's log is asked for
/// and its last line becomes the error.
pub fn load_device_program(insns: &[BpfInsn]) -> io::Result<OwnedFd> {
    let license = c"Apache-2.0";
    let load = |log: Option<&mut [u8]>| {
        let mut attr = Attr::new();
        attr.put_u32(0, BPF_PROG_TYPE_CGROUP_DEVICE)
            .put_u32(4, insns.len() as u32)
            .put_u64(8, insns.as_ptr() as u64)
            .put_u64(16, license.as_ptr() as u64);
        if let Some(log) = log {
            attr.put_u32(24, 1)
                .put_u32(28, log.len() as u32)
                .put_u64(32, log.as_mut_ptr() as u64);
        }
        bpf(BPF_PROG_LOAD, &mut attr).map(owned)
    };
    load(None).or_else(|first| {
        let mut log = vec![0u8; 64 * 1024];
        match load(Some(&mut log)) {
            Ok(fd) => Ok(fd),
            Err(_) => {
                let text = String::from_utf8_lossy(&log);
                let last = text
                    .trim_end_matches('\0')
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim();
                Err(io::Error::new(
                    first.kind(),
                    format!("{first}; verifier: {last}"),
                ))
            }
        }
    })
}

/// Attaches `program` to the cgroup directory `cgroup`, beside programs already there.
pub fn attach_device_program(cgroup: BorrowedFd<'_>, program: BorrowedFd<'_>) -> io::Result<()> {
    let mut attr = Attr::new();
    attr.put_u32(0, cgroup.as_raw_fd() as u32)
        .put_u32(4, program.as_raw_fd() as u32)
        .put_u32(8, BPF_CGROUP_DEVICE)
        .put_u32(12, BPF_F_ALLOW_MULTI);
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

/// Detaches every device program of `cgroup` except `keep`.
pub fn detach_device_programs_except(
    cgroup: BorrowedFd<'_>,
    keep: BorrowedFd<'_>,
) -> io::Result<()> {
    let mut ids = [0u32; 64];
    let mut attr = Attr::new();
    attr.put_u32(0, cgroup.as_raw_fd() as u32)
        .put_u32(4, BPF_CGROUP_DEVICE)
        .put_u64(16, ids.as_mut_ptr() as u64)
        .put_u32(24, ids.len() as u32);
    bpf(BPF_PROG_QUERY, &mut attr)?;
    let count = (attr.get_u32(24) as usize).min(ids.len());
    let keep_id = program_id(keep)?;
    for id in ids[..count].iter().filter(|id| **id != keep_id) {
        let mut by_id = Attr::new();
        by_id.put_u32(0, *id);
        let program = owned(bpf(BPF_PROG_GET_FD_BY_ID, &mut by_id)?);
        let mut detach = Attr::new();
        detach
            .put_u32(0, cgroup.as_raw_fd() as u32)
            .put_u32(4, program.as_raw_fd() as u32)
            .put_u32(8, BPF_CGROUP_DEVICE);
        bpf(BPF_PROG_DETACH, &mut detach)?;
    }
    Ok(())
}

/// The kernel's id of a loaded program (from its fdinfo).
fn program_id(program: BorrowedFd<'_>) -> io::Result<u32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", program.as_raw_fd()))?;
    info.lines()
        .find_map(|line| line.strip_prefix("prog_id:"))
        .and_then(|id| id.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no prog_id in fdinfo"))
}
