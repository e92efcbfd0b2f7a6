import Foundation
import Testing

/// What an operator runs beside the hub: backups that restore, and the service unit.
@Suite("Operations")
struct OperationsTests {
    let daemon = Paths.binaries + "/liaisond"

    func audit(verifyAgainst hub: RunningHub) async throws -> ProcessResult {
        try await ProcessRunner.runAsync(Paths.binaries + "/liaison", ["audit", "verify", "--as", "zhao.lei"],
                                         environment: ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL])
    }

    @Test func aBackupTakenWhilePushesGoOnRestoresEveryItemAcknowledgedBeforeIt() async throws {
        let work = try Paths.temporaryDirectory("backup")
        let (acknowledged, backup, keyring) = try await TestHub.with { hub in
            let owner = try hub.client("stationed-transport")
            var acknowledged: [String: Data] = [:]
            for index in 0..<12 {
                let level = ["general", "restricted", "confidential"][index % 3]
                let payload = Data("第\(index)份材料 \(level) ".utf8) + Data((0..<(512 * index)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
                let response = try await owner.push(title: "报告 \(index)", unit: "transport-bureau", classification: level, payload: payload)
                #expect(response.status == 201)
                acknowledged[try #require(response.json["id"] as? String)] = payload
            }
            // Streamed payloads, whose chunks the hub keeps in files beside the database: the backup takes them in.
            for (index, level) in ["general", "confidential"].enumerated() {
                let payload = StreamedPayloadTests.payload(2 << 20 + 777, seed: UInt64(index))
                let response = try await owner.pushStreamed(payload, unit: "transport-bureau", classification: level)
                #expect(response.status == 201)
                acknowledged[try #require(response.json["id"] as? String)] = Data(payload)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: hub.dataDirectory + "/liaison.sqlite-chunks").count == 2)
            // Pushes go on while the backup is taken; what they add may or may not be in it.
            let more = Task {
                for index in 0..<40 { _ = try await owner.push(title: "后续 \(index)", unit: "transport-bureau", classification: ["general", "confidential"][index % 2]) }
            }
            let backup = work + "/liaison-backup.sqlite", keyring = work + "/keyring-backup.json"
            let result = try await ProcessRunner.runAsync(daemon, ["backup", "--data", hub.dataDirectory, "--to", backup, "--keyring-to", keyring])
            try await more.value
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("Backed up"))
            #expect(result.stdout.contains("  streamed payloads: 6 chunk(s) from \(hub.dataDirectory)/liaison.sqlite-chunks, put into the same file"), "\(result.stdout)")
            #expect(result.stdout.contains("Key ring copied to \(keyring) (mode 0600)"))
            #expect(try await ProcessRunner.runAsync(daemon, ["backup", "--data", hub.dataDirectory, "--to", backup]).stderr.contains("exists already"),
                    "a backup never overwrites")
            return (acknowledged, backup, keyring)
        }
        for file in [backup, keyring] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0, "\(file) is private")
        }
        let keyText = try String(contentsOfFile: keyring, encoding: .utf8)
        let keyField = try #require(keyText.firstMatch(of: /"key"\s*:\s*"([^"]+)"/)?.1)
        let backupBytes = try Data(contentsOf: URL(fileURLWithPath: backup))
        #expect(backupBytes.range(of: Data(keyField.utf8)) == nil, "the database backup does not hold the key ring")

        // One file holds it all, the chunks' bytes in their rows.
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).sorted() == ["keyring-backup.json", "liaison-backup.sqlite"])
        let embedded = try await ProcessRunner.runAsync("/usr/bin/env", ["python3", "-c", """
            import sqlite3,sys; db=sqlite3.connect(sys.argv[1])
            print(db.execute("SELECT count(*), sum(length(bytes)), count(file_offset) FROM payload_chunk").fetchone())
            """, backup])
        #expect(embedded.stdout.hasPrefix("(6, "), "\(embedded.stdout)\(embedded.stderr)")
        #expect(embedded.stdout.hasSuffix(", 0)\n"), "no chunk is left naming a file: \(embedded.stdout)")

        let restored = work + "/restored"
        let restore = try await ProcessRunner.runAsync(daemon, ["restore", "--from", backup, "--keyring", keyring, "--data", restored])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("every seal checks; audit trail of"))
        #expect(restore.stdout.contains("Streamed payloads: 6 chunk(s) put back in \(restored)/liaison.sqlite-chunks."), "\(restore.stdout)")
        let again = try await ProcessRunner.runAsync(daemon, ["restore", "--from", backup, "--keyring", keyring, "--data", restored])
        #expect(again.status != 0)
        #expect(again.stderr.contains("is not empty"))

        // The streamed payloads are back in files of their own, as the hub keeps them.
        #expect(try FileManager.default.contentsOfDirectory(atPath: restored + "/liaison.sqlite-chunks").count == 2)
        let moved = try await ProcessRunner.runAsync("/usr/bin/env", ["python3", "-c", """
            import sqlite3,sys; db=sqlite3.connect(sys.argv[1])
            print(db.execute("SELECT count(*), sum(length(bytes)), count(file_offset) FROM payload_chunk").fetchone())
            """, restored + "/liaison.sqlite"])
        #expect(moved.stdout == "(6, 0, 6)\n", "\(moved.stdout)\(moved.stderr)")

        try await TestHub.with(dataDirectory: restored) { hub in
            let owner = try hub.client("stationed-transport")
            for (id, payload) in acknowledged {
                let (response, plaintext) = try await owner.payload(id)
                #expect(response.status == 200, "\(id)")
                #expect(plaintext == payload, "\(id)")
            }
            let verify = try await audit(verifyAgainst: hub)
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }

    @Test func aRestoreWritesNoChunkFileOutsideItsFolderWhateverTheBackupSays() async throws {
        let work = try Paths.temporaryDirectory("restore-hostile-ids")
        let backup = work + "/b.sqlite", keyring = work + "/k.json"
        try await TestHub.with { hub in
            #expect(try await hub.client("stationed-transport").pushStreamed(StreamedPayloadTests.payload(2 << 20), unit: "transport-bureau",
                                                                             classification: "general").status == 201)
            let result = try await ProcessRunner.runAsync(daemon, ["backup", "--data", hub.dataDirectory, "--to", backup, "--keyring-to", keyring])
            #expect(result.status == 0, "\(result.stderr)")
        }
        // Rows edited into the backup whose item ids are paths, not ids: their bytes stay in the database.
        let edited = try await ProcessRunner.runAsync("/usr/bin/env", ["python3", "-c", """
            import sqlite3,sys; db=sqlite3.connect(sys.argv[1])
            for i, name in enumerate(["../escaped", "/tmp/escaped-absolute", "a/b", ".", ""]):
                db.execute("INSERT INTO payload_chunk (item_id, seq, written_at, bytes) VALUES (?, 0, 0, x'0102')", (name,))
            db.commit()
            """, backup])
        #expect(edited.status == 0, "\(edited.stderr)")
        let restore = try await ProcessRunner.runAsync(daemon, ["restore", "--from", backup, "--keyring", keyring, "--data", work + "/r"])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("Streamed payloads: 2 chunk(s) put back in"), "only the stored item's: \(restore.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/r/liaison.sqlite-chunks").count == 1)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: work)) == ["b.sqlite", "k.json", "r"])
        #expect(!FileManager.default.fileExists(atPath: "/tmp/escaped-absolute"))
    }

    @Test func aBackupOfAHubMissingAStoredChunkFileFailsAndLeavesNoFile() async throws {
        let work = try Paths.temporaryDirectory("backup-missing-chunks")
        try await TestHub.with { hub in
            let pushed = try await hub.client("stationed-transport").pushStreamed(StreamedPayloadTests.payload(2 << 20 + 5), unit: "transport-bureau",
                                                                                  classification: "general")
            let id = try #require(pushed.json["id"] as? String)
            try FileManager.default.removeItem(atPath: hub.dataDirectory + "/liaison.sqlite-chunks/" + id)
            let result = try await ProcessRunner.runAsync(daemon, ["backup", "--data", hub.dataDirectory, "--to", work + "/b.sqlite"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("chunk 0 of item \(id) is missing from \(hub.dataDirectory)/liaison.sqlite-chunks"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: work + "/b.sqlite"), "no half-made backup is left")
        }
    }

    @Test func aRestoreWithTheWrongKeyRingOrAnAlteredTrailIsRefused() async throws {
        let work = try Paths.temporaryDirectory("restore-refusals")
        let backup = work + "/b.sqlite", keyring = work + "/k.json"
        try await TestHub.with { hub in
            #expect(try await hub.client("stationed-transport").push(unit: "transport-bureau", classification: "confidential").status == 201)
            let result = try await ProcessRunner.runAsync(daemon, ["backup", "--data", hub.dataDirectory, "--to", backup, "--keyring-to", keyring])
            #expect(result.status == 0, "\(result.stderr)")
        }
        // Another hub's key ring: the seals do not check.
        let stranger = try Paths.temporaryDirectory("stranger")
        try await TestHub.with(dataDirectory: stranger) { _ in }
        let wrong = try await ProcessRunner.runAsync(daemon, ["restore", "--from", backup, "--keyring", stranger + "/keyring.json", "--data", work + "/r1"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("do not match their seal under this key ring"), "\(wrong.stderr)")
        // An entry of the trail edited in the backup.
        let edited = try await ProcessRunner.runAsync("/usr/bin/env", ["python3", "-c", """
            import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute("UPDATE audit SET actor='someone-else' WHERE seq=1"); db.commit()
            """, backup])
        #expect(edited.status == 0, "\(edited.stderr)")
        let altered = try await ProcessRunner.runAsync(daemon, ["restore", "--from", backup, "--keyring", keyring, "--data", work + "/r2"])
        #expect(altered.status != 0)
        #expect(altered.stderr.contains("does not verify: entry 1 was altered"), "\(altered.stderr)")
        // Bad arguments say what to give instead, and write nothing.
        let noHub = try await ProcessRunner.runAsync(daemon, ["backup", "--data", work + "/nowhere", "--to", work + "/x.sqlite"])
        #expect(noHub.status == 64 && noHub.stderr.contains("does not exist; give the hub's data folder with --data"), "\(noHub.stderr)")
        let together = try await ProcessRunner.runAsync(daemon, ["backup", "--data", work, "--to", work + "/y", "--keyring-to", work + "/y"])
        #expect(together.status == 64 && together.stderr.contains("the key ring is never kept with the database"), "\(together.stderr)")
        let noBackup = try await ProcessRunner.runAsync(daemon, ["restore", "--from", work + "/missing.sqlite", "--keyring", keyring, "--data", work + "/r3"])
        #expect(noBackup.status == 64 && noBackup.stderr.contains("missing.sqlite does not exist"), "\(noBackup.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work + "/x.sqlite") && !FileManager.default.fileExists(atPath: work + "/r3"))
    }

    @Test func theServiceUnitVerifies() async throws {
        let unit = try String(contentsOf: Paths.packageRoot.appendingPathComponent("deploy/liaisond.service"), encoding: .utf8)
        for option in ["NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "ReadWritePaths=/var/lib/liaison",
                       "CapabilityBoundingSet=\n", "RestrictAddressFamilies=", "ExecReload=/bin/kill -HUP $MAINPID", "User=liaison"] {
            #expect(unit.contains(option), "\(option)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            // Checked by hand on a machine with systemd; the options above are still checked here.
            print("systemd-analyze is not installed: the unit's syntax is not verified on this machine")
            return
        }
        // The unit names the installed binary; here it is checked against the one just built.
        let folder = try Paths.temporaryDirectory("unit")
        try unit.replacingOccurrences(of: "/usr/local/bin/liaisond", with: daemon).write(toFile: folder + "/liaisond.service", atomically: true, encoding: .utf8)
        let verify = try await ProcessRunner.runAsync("/usr/bin/systemd-analyze", ["verify", folder + "/liaisond.service"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(!verify.stderr.contains("liaisond.service"), "\(verify.stderr)")
    }
}
