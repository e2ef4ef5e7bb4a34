//! Device rules as a cgroup v2 eBPF program. Without one, a v2 container could mknod and open
//! any device. The program reads the request (`struct bpf_cgroup_dev_ctx`: access and type,
//! major, minor) and tries the rules from last to first, so the last matching rule decides, as
//! with v1's devices.allow/deny; a request no rule matches is allowed (v1's starting state,
//! which a leading "deny all" rule overrides).

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::sys::bpf::BpfInsn;

// Opcodes (linux/bpf.h): class | size/op | source.
const LDX_MEM_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const ALU64_AND_K: u8 = 0x57; // dst &= imm
const ALU64_RSH_K: u8 = 0x77; // dst >>= imm
const ALU64_MOV_X: u8 = 0xbf; // dst = src
const ALU64_MOV_K: u8 = 0xb7; // dst = imm
const JMP_JNE_K: u8 = 0x55; // if dst != imm: pc += off
const JMP_JEQ_K: u8 = 0x15; // if dst == imm: pc += off
const JMP_EXIT: u8 = 0x95; // return r0

// Registers: r1 holds the context on entry and is reused as scratch once it has been read.
const R0: u8 = 0;
const R1: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

// bpf_cgroup_dev_ctx encodings.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// Compiles `rules` into a cgroup device program.
pub fn compile(rules: &[LinuxDeviceCgroup]) -> Vec<BpfInsn> {
    let mut program = vec![
        insn(LDX_MEM_W, TYPE, R1, 0, 0),
        insn(ALU64_AND_K, TYPE, 0, 0, 0xffff),
        insn(LDX_MEM_W, ACCESS, R1, 0, 0),
        insn(ALU64_RSH_K, ACCESS, 0, 0, 16),
        insn(LDX_MEM_W, MAJOR, R1, 4, 0),
        insn(LDX_MEM_W, MINOR, R1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        let block = rule_block(rule);
        // A rule that tests nothing matches every request: what follows could never run, and
        // the verifier refuses unreachable code.
        let matches_all = block.len() == 2;
        program.extend(block);
        if matches_all {
            return program;
        }
    }
    program.push(insn(ALU64_MOV_K, R0, 0, 0, 1));
    program.push(insn(JMP_EXIT, 0, 0, 0, 0));
    program
}

/// The instructions deciding one rule: each test that fails jumps past the block's end.
fn rule_block(rule: &LinuxDeviceCgroup) -> Vec<BpfInsn> {
    // Jumps are written with offset 0 and pointed at the block's end below.
    let mut block = Vec::new();
    let device_type = match rule.typ() {
        Some(LinuxDeviceType::B) => Some(DEV_BLOCK),
        Some(LinuxDeviceType::C | LinuxDeviceType::U) => Some(DEV_CHAR),
        _ => None,
    };
    if let Some(device_type) = device_type {
        block.push(insn(JMP_JNE_K, TYPE, 0, 0, device_type));
    }
    let access = access_bits(rule.access().as_deref());
    if access != ACC_ALL {
        block.push(insn(ALU64_MOV_X, R1, ACCESS, 0, 0));
        if rule.allow() {
            // Allowed only when every requested bit is in the rule.
            block.push(insn(ALU64_AND_K, R1, 0, 0, !access & ACC_ALL));
            block.push(insn(JMP_JNE_K, R1, 0, 0, 0));
        } else {
            // Denied as soon as one requested bit is in the rule.
            block.push(insn(ALU64_AND_K, R1, 0, 0, access));
            block.push(insn(JMP_JEQ_K, R1, 0, 0, 0));
        }
    }
    if let Some(major) = rule.major().filter(|m| *m >= 0) {
        block.push(insn(JMP_JNE_K, MAJOR, 0, 0, major as i32));
    }
    if let Some(minor) = rule.minor().filter(|m| *m >= 0) {
        block.push(insn(JMP_JNE_K, MINOR, 0, 0, minor as i32));
    }
    block.push(insn(ALU64_MOV_K, R0, 0, 0, i32::from(rule.allow())));
    block.push(insn(JMP_EXIT, 0, 0, 0, 0));
    let end = block.len();
    for (i, instruction) in block.iter_mut().enumerate() {
        if instruction.code == JMP_JNE_K || instruction.code == JMP_JEQ_K {
            instruction.off = (end - i - 1) as i16;
        }
    }
    block
}

fn access_bits(access: Option<&str>) -> i32 {
    access.map_or(ACC_ALL, |text| {
        text.chars().fold(0, |bits, c| match c {
            'm' => bits | ACC_MKNOD,
            'r' => bits | ACC_READ,
            'w' => bits | ACC_WRITE,
            _ => bits,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a compiled program on one request: a tiny interpreter of the opcodes used.
    fn run(program: &[BpfInsn], device_type: i32, access: i32, major: i32, minor: i32) -> i64 {
        let ctx = [
            ((access << 16) | device_type) as u32,
            major as u32,
            minor as u32,
        ];
        let mut regs = [0i64; 11];
        let mut pc = 0usize;
        loop {
            let i = program[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => regs[dst] = i64::from(ctx[i.off as usize / 4]),
                ALU64_AND_K => regs[dst] &= i64::from(i.imm),
                ALU64_RSH_K => regs[dst] >>= i.imm,
                ALU64_MOV_X => regs[dst] = regs[src],
                ALU64_MOV_K => regs[dst] = i64::from(i.imm),
                JMP_JNE_K if regs[dst] != i64::from(i.imm) => pc += i.off as usize,
                JMP_JEQ_K if regs[dst] == i64::from(i.imm) => pc += i.off as usize,
                JMP_JNE_K | JMP_JEQ_K => {}
                JMP_EXIT => return regs[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn rule(
        allow: bool,
        typ: Option<LinuxDeviceType>,
        major: i64,
        minor: i64,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut rule = LinuxDeviceCgroup::default();
        rule.set_allow(allow)
            .set_typ(typ)
            .set_major(Some(major))
            .set_minor(Some(minor))
            .set_access(Some(access.to_string()));
        rule
    }

    #[test]
    fn last_matching_rule_decides() {
        let rules = [
            rule(false, Some(LinuxDeviceType::A), -1, -1, "rwm"),
            rule(true, Some(LinuxDeviceType::C), 1, 3, "rwm"),
            rule(true, Some(LinuxDeviceType::C), 1, 5, "r"),
            rule(false, Some(LinuxDeviceType::C), 1, 3, "w"),
        ];
        let program = compile(&rules);
        assert_eq!(run(&program, DEV_CHAR, ACC_READ, 1, 3), 1, "null readable");
        assert_eq!(
            run(&program, DEV_CHAR, ACC_WRITE, 1, 3),
            0,
            "null write denied last"
        );
        assert_eq!(run(&program, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 0);
        assert_eq!(run(&program, DEV_CHAR, ACC_READ, 1, 5), 1, "zero readable");
        assert_eq!(
            run(&program, DEV_CHAR, ACC_WRITE, 1, 5),
            0,
            "zero not writable"
        );
        assert_eq!(run(&program, DEV_BLOCK, ACC_READ, 8, 0), 0, "disk denied");
        assert_eq!(
            run(&program, DEV_CHAR, ACC_MKNOD, 10, 229),
            0,
            "fuse denied"
        );
    }

    #[test]
    fn the_kernel_verifier_accepts_the_program() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: loading eBPF programs needs root");
            return;
        }
        let rules = [
            rule(false, Some(LinuxDeviceType::A), -1, -1, "rwm"),
            rule(true, Some(LinuxDeviceType::C), 1, 3, "rwm"),
            rule(false, Some(LinuxDeviceType::B), 8, -1, "w"),
        ];
        crate::sys::bpf::load_device_program(&compile(&rules)).expect("program loads");
    }

    #[test]
    fn no_rules_allow_everything() {
        assert_eq!(run(&compile(&[]), DEV_BLOCK, ACC_ALL, 8, 0), 1);
    }
}
