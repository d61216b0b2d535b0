package io.weft.daemon.bus;

import com.rabbitmq.client.AMQP;

/**
 * One AMQP message ready to publish.
 *
 * @param routingKey the message's routing key
 * @param properties its properties and headers
 * @param body its body
 * @param events how many events it carries
 */
record Outgoing(String routingKey, AMQP.BasicProperties properties, byte[] body, int events) {}
