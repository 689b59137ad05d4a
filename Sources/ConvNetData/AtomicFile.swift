#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation

/// Whole-file writes that a crash cannot tear.
public enum AtomicFile {
    /// Writes a temporary file in the same folder, flushes it to disk, renames it over `path` and
    /// flushes the folder: a crash at any moment leaves either the old file or the new one. Errors
    /// name `path` (the file the user knows) and the system's reason, never the temporary file.
    public static func write(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        let temporary = folder + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        unlink(temporary)   // a leftover of an earlier process with this pid
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw DataError("cannot write \(path): \(String(cString: strerror(errno)))") }
        var failure: Int32 = 0
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = pwrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset, off_t(offset))
                if written < 0 { if errno == EINTR { continue }; failure = errno; return }
                offset += written
            }
        }
        if failure == 0 && fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0 && failure == 0 { failure = errno }
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        guard failure == 0 else {
            unlink(temporary)
            throw DataError("cannot write \(path): \(String(cString: strerror(failure)))")
        }
        let folderDescriptor = open(folder, O_RDONLY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }
}
