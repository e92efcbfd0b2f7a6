import Foundation

/// An exclusive lock on a data folder, held by a running hub for its lifetime, so that a second hub or
/// an offline key rotation cannot work on the same files at the same time.
struct DataDirectoryLock {
    let path: String
    private let descriptor: Int32

    /// Takes the lock, or fails at once if another process holds it.
    init(directory: String) throws {
        path = directory + "/liaisond.lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StartupProblem("\(path) cannot be created (\(String(cString: strerror(errno))))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw StartupProblem("another liaisond is running on \(directory) (it holds \(path)); stop it first or use another --data folder")
        }
    }

    /// The lock is released when the process exits; an offline command releases it when done.
    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
