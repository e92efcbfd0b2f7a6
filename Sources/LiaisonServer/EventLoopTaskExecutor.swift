public import NIOCore

/// Runs a task's jobs on one NIO event loop: a `FastLane` read, begun on its connection's loop, carries on there
/// after each suspension (the commit of its trail entry) instead of hopping to the concurrency pool and back.
public final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    public init(_ loop: any EventLoop) {
        self.loop = loop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
