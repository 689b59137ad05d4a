import KindRegistry

/// Every layer kind a config can name. Adding a layer: write its type (one file in `Layers/`) and
/// add it here; parsing, writing, the summary, checkpoint names and initialisation follow from it.
public enum LayerRegistry {
    public static let kinds: [any Layer.Type] = [
        Conv2D.self,
        Dense.self,
        MaxPool2D.self,
        AvgPool2D.self,
        GlobalAvgPool2D.self,
        GlobalMaxPool2D.self,
        Flatten.self,
        Dropout.self,
        BatchNorm.self,
        ActivationLayer.self,
        UpSampling2D.self,
        Add.self,
        Concatenate.self,
        Rescaling.self,
        Normalization.self,
        ZeroPadding2D.self,
        RandomFlip.self,
        RandomCrop.self,
        RandomTranslation.self,
    ]

    static let registry = Registry("layer type", key: "type", kinds, name: { $0.typeName })

    /// The layer a config table describes (its `type` key names the kind); unknown keys are errors.
    public static func layer(from config: ConfigTable) throws -> any Layer {
        let layer = try registry.kind(in: config).described(by: config)
        try config.finish()
        return layer
    }

    /// The table that `layer(from:)` reads back to an equal layer: `type` first, then the layer's keys.
    public static func config(of layer: any Layer) -> [ConfigEntry] {
        registry.config(name: layer.typeName, layer.config)
    }
}

extension Layer {
    /// `init(config:)` as an existential (calling `init` on `any Layer.Type` with an `inout` crashes Swift 6.3's SILGen).
    static func described(by config: ConfigTable) throws -> any Layer { try Self(config: config) }
}
