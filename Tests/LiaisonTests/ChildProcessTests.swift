import Foundation
import LiaisonProcess
import Testing

/// The spawn every test and `liaison watch --exec` use instead of Foundation's Process.
@Suite("child processes")
struct ChildProcessTests {
    @Test func aChildInheritsOnlyItsStandardStreams() throws {
        // A descriptor of this process without close-on-exec: the child must not get it all the same.
        let open = Glibc.open("/dev/null", O_RDONLY)
        defer { close(open) }
        #expect(open > 3, "3 is the one ls opens itself")
        let result = try ProcessRunner.run("/bin/sh", ["-c", "ls /proc/self/fd"])
        // 0, 1, 2, and the descriptor ls opened to list the folder.
        #expect(result.stdout.split(separator: "\n").compactMap { Int($0) }.filter { $0 > 3 } == [])
        #expect(result.status == 0)
    }

    @Test func aChildStartsWithNoSignalBlockedOrIgnored() throws {
        let result = try ProcessRunner.run("/bin/sh", ["-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"])
        var masks: [String: UInt64] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            masks[String(parts[0])] = UInt64(parts[1], radix: 16)
        }
        #expect(masks["SigBlk:"] == 0)
        // The standard signals 1–31 (SIGPIPE, which this test process ignores, among them); glibc keeps its own
        // real-time signals 32 and 33 out of reach of posix_spawn.
        #expect(masks["SigIgn:"].map { $0 & 0x7fff_ffff } == 0)
    }

    @Test func writingToAChildThatStoppedReadingFailsInsteadOfEndingThisProcess() throws {
        let process = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "exit 3"], input: .pipe)
        #expect(process.waitUntilExit() == .exited(3))
        #expect(process.write(Data(repeating: 1, count: 1 << 20)) == false)
        process.closeInput()
        #expect(!process.isRunning)
    }

    @Test func aSignalledChildReportsItsSignalAndAMissingProgramIsAClearError() throws {
        let process = try ChildProcess(executable: "/bin/sleep", arguments: ["30"])
        #expect(process.isRunning)
        process.send(SIGKILL)
        #expect(process.waitUntilExit() == .signalled(SIGKILL))
        #expect(process.waitUntilExit().status == SIGKILL)
        #expect(throws: ChildProcessError.self) { try ChildProcess(executable: "/no/such/program", arguments: []) }
    }
}
