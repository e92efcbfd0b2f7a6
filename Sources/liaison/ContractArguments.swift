public import ArgumentParser
public import LiaisonAPI

// The contract's enums as option values: ArgumentParser lists the allowed ones in --help and names them in its error.
extension Components.Schemas.Classification: ExpressibleByArgument {}
extension Components.Schemas.RequestStatus: ExpressibleByArgument {}
