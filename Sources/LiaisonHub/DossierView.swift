public import Foundation
public import LiaisonCore

/// What recurs, and what is open, among the items of a dossier the team may read.
public struct DossierSummary: Sendable, Equatable {
    public struct Mention: Sendable, Equatable {
        public let name: String
        /// The readable items that name it.
        public let items: [String]
        /// For a person: the agencies whose readable items name them, sorted.
        public var agencies: [String] = []
        /// For a person: how many of the dossier's withheld items name them too (through the blind index).
        public var withheld = 0
    }

    public struct OpenLead: Sendable, Equatable {
        public let itemID: String
        public let status: Lead.Status
        public let ageDays: Int
    }

    public struct Feedback: Sendable, Equatable {
        public let itemID: String
        public let title: String
        /// The first rectification reported for it, if any.
        public let rectification: String?
        public let rectifiedAt: Date?
    }

    public let byKind: [String: Int]
    public let byLevel: [String: Int]
    public let persons: [Mention]
    public let tags: [Mention]
    public let openLeads: [OpenLead]
    public let feedback: [Feedback]
}

/// A dossier as its team sees it now: items move from withheld to readable as approvals arrive.
public struct DossierView: Sendable, Equatable {
    public let dossier: Dossier
    public let items: [VisibleItem]
    public let summary: DossierSummary
    public let requestStatus: AccessRequest.Status?
    /// Counted once: a dossier of 10,000 items is counted for its answer, its trail entry and its summary.
    public let readableCount: Int
    public let withheldCount: Int

    public init(dossier: Dossier, items: [VisibleItem], summary: DossierSummary, requestStatus: AccessRequest.Status?) {
        self.dossier = dossier
        self.items = items
        self.summary = summary
        self.requestStatus = requestStatus
        withheldCount = items.count(where: \.isWithheld)
        readableCount = items.count - withheldCount
    }
}
