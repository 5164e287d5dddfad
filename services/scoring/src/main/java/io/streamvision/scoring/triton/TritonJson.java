package io.streamvision.scoring.triton;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.MapEntry;
import com.google.protobuf.Message;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * A Triton message as Triton's HTTP endpoints write it: the proto's own snake_case field names,
 * 64-bit integers as JSON numbers (protobuf's JSON mapping would quote them, which Triton's clients
 * do not expect), enums by name, maps as objects; fields at their default are left out unless
 * they are messages that were set. Stateless.
 */
public final class TritonJson {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private TritonJson() {}

    public static ObjectNode of(Message message) {
        ObjectNode out = NODES.objectNode();
        for (Map.Entry<FieldDescriptor, Object> field : message.getAllFields().entrySet()) {
            FieldDescriptor f = field.getKey();
            Object value = field.getValue();
            if (f.isMapField()) {
                ObjectNode map = out.putObject(f.getName());
                for (Object entry : (List<?>) value) {
                    MapEntry<?, ?> e = (MapEntry<?, ?>) entry;
                    FieldDescriptor valueField = f.getMessageType().findFieldByName("value");
                    map.set(String.valueOf(e.getKey()), value(valueField, e.getValue()));
                }
            } else if (f.isRepeated()) {
                ArrayNode array = out.putArray(f.getName());
                for (Object item : (List<?>) value) {
                    array.add(value(f, item));
                }
            } else {
                out.set(f.getName(), value(f, value));
            }
        }
        return out;
    }

    private static JsonNode value(FieldDescriptor f, Object value) {
        return switch (f.getJavaType()) {
            case MESSAGE -> of((Message) value);
            case ENUM -> NODES.textNode(((EnumValueDescriptor) value).getName());
            case BOOLEAN -> NODES.booleanNode((Boolean) value);
            case INT -> NODES.numberNode((Integer) value);
            case LONG -> NODES.numberNode((Long) value);
            case FLOAT -> NODES.numberNode((Float) value);
            case DOUBLE -> NODES.numberNode((Double) value);
            case STRING -> NODES.textNode((String) value);
            case BYTE_STRING -> NODES.textNode(Base64.getEncoder().encodeToString(((ByteString) value).toByteArray()));
        };
    }
}
